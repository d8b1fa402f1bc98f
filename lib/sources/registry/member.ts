/**
 * Parsing what Aurora's announcer (and Mesos masters) write into ZooKeeper. Everything
 * read from the registry goes through here and is validated: a member whose data is not
 * exactly what is expected is skipped with a reason, never rendered.
 *
 * @module
 */

import type { Endpoint } from "../../model/endpoint.ts";
import { validateEndpointFields } from "../../model/endpoint.ts";

/** A usable endpoint, a member to leave out on purpose, or a malformed member. */
export type MemberResult =
  | { readonly kind: "ok"; readonly endpoint: Endpoint }
  | { readonly kind: "excluded"; readonly reason: string }
  | { readonly kind: "invalid"; readonly reason: string };

const invalid = (reason: string): MemberResult => ({ kind: "invalid", reason });

function parseJson(data: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data);
    return v && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function hostPort(v: unknown, field: string): { host: string; port: number } | string {
  if (!v || typeof v !== "object") return `${field}: missing or not an object`;
  const { host, port } = v as { host?: unknown; port?: unknown };
  const bad = validateEndpointFields(host, port);
  return bad ? `${field}.${bad}` : { host: host as string, port: port as number };
}

/**
 * Parses an Aurora serverset member:
 * `{"serviceEndpoint": {"host", "port"}, "additionalEndpoints": {"http": {...}}, "status": "ALIVE", "shard": 0}`.
 * With `endpoint`, that named additional endpoint receives traffic instead of the service
 * endpoint. The endpoint's `ports` map keeps every named port (plus `default`).
 *
 * @example
 * ```ts
 * parseServerSetMember('{"serviceEndpoint":{"host":"10.0.0.1","port":31000},"status":"ALIVE"}', { origin: "/aurora/r/e/j/member_0" });
 * // { kind: "ok", endpoint: { host: "10.0.0.1", port: 31000, ports: { default: 31000 }, origin: ... } }
 * ```
 */
export function parseServerSetMember(
  data: string,
  opts: { endpoint?: string; origin: string },
): MemberResult {
  const j = parseJson(data);
  if (!j) return invalid("data is not a JSON object");
  const status = j.status;
  // Aurora's announcer always writes a status, and the serverset readers of Aurora's
  // tooling (and the original aurproxy) refuse a member without one.
  if (status === undefined) return invalid("status: missing");
  if (status !== "ALIVE") {
    return { kind: "excluded", reason: `status ${JSON.stringify(status)} is not ALIVE` };
  }
  const service = hostPort(j.serviceEndpoint, "serviceEndpoint");
  if (typeof service === "string") return invalid(service);
  const ports: Record<string, number> = { default: service.port };
  const additional = j.additionalEndpoints;
  let chosen = service;
  if (additional !== undefined && additional !== null) {
    if (typeof additional !== "object" || Array.isArray(additional)) {
      return invalid("additionalEndpoints: not an object");
    }
    for (const [name, ep] of Object.entries(additional)) {
      const hp = hostPort(ep, `additionalEndpoints.${name}`);
      if (typeof hp === "string") return invalid(hp);
      ports[name] = hp.port;
      if (name === opts.endpoint) chosen = hp;
    }
  }
  // Own keys only: `endpoint: "constructor"` must not find Object.prototype's.
  if (opts.endpoint && !(additional && Object.hasOwn(additional, opts.endpoint))) {
    return invalid(`no additional endpoint named ${JSON.stringify(opts.endpoint)}`);
  }
  return {
    kind: "ok",
    endpoint: { host: chosen.host, port: chosen.port, ports, origin: opts.origin },
  };
}

/**
 * Parses a Mesos master's `json.info_` member: `{"hostname", "port", "address": {"hostname", "ip", "port"}}`.
 */
export function parseMesosMaster(data: string, origin: string): MemberResult {
  const j = parseJson(data);
  if (!j) return invalid("data is not a JSON object");
  const addr = (j.address && typeof j.address === "object" ? j.address : {}) as Record<
    string,
    unknown
  >;
  const host = addr.hostname ?? addr.ip ?? j.hostname;
  const port = addr.port ?? j.port;
  const bad = validateEndpointFields(host, port);
  if (bad) return invalid(bad);
  return {
    kind: "ok",
    endpoint: {
      host: host as string,
      port: port as number,
      ports: { default: port as number },
      origin,
    },
  };
}
