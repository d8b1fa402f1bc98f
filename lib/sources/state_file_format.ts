/**
 * The state file's format: what is written (version 2: each source's endpoints with when
 * they were last known to be current) and how a file is read back, version 1 included.
 * Nothing read is trusted: every endpoint passes the checks a registry member passes.
 *
 * @module
 */

import type { Endpoint } from "../model/endpoint.ts";
import { validateEndpointFields } from "../model/endpoint.ts";

/** An endpoint as written: no origin (it is the file's on load). */
export interface StoredEndpoint {
  host: string;
  port: number;
  ports: Record<string, number>;
}

/** The file, as written. */
export interface FileFormat {
  version: 2;
  writtenAt: number;
  sources: Record<string, { savedAt: number; endpoints: StoredEndpoint[] }>;
}

/** An endpoint as written. */
export function stored(e: Endpoint): StoredEndpoint {
  return { host: e.host, port: e.port, ports: { ...e.ports } };
}

/** One source's entry as read, not validated yet. */
export interface RawEntry {
  readonly name: string;
  readonly savedAt: number;
  readonly endpoints: readonly unknown[];
}

/**
 * The file's entries, or why it is not a state file. Version 1 had one time for all.
 *
 * @example
 * ```ts
 * parseFile('{"version":2,"writtenAt":1,"sources":{"s":{"savedAt":1,"endpoints":[]}}}');
 * // [{ name: "s", savedAt: 1, endpoints: [] }]
 * parseFile("{"); // "not JSON"
 * ```
 */
export function parseFile(text: string): RawEntry[] | string {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (!j || typeof j !== "object") return "not a JSON object";
  const { version, writtenAt, sources } = j as Record<string, unknown>;
  if (typeof writtenAt !== "number" || !sources || typeof sources !== "object") {
    return "not an aurproxy state file";
  }
  if (version !== 1 && version !== 2) return `unknown version ${JSON.stringify(version)}`;
  const out: RawEntry[] = [];
  for (const [name, v] of Object.entries(sources)) {
    if (version === 1 && Array.isArray(v)) {
      out.push({ name, savedAt: writtenAt, endpoints: v });
    } else if (version === 2 && v && typeof v === "object") {
      const { savedAt, endpoints } = v as Record<string, unknown>;
      if (typeof savedAt === "number" && Array.isArray(endpoints)) {
        out.push({ name, savedAt, endpoints });
      }
    }
  }
  return out;
}

/** The same checks a registry member passes; named ports that fail are dropped. */
export function validateStored(e: unknown): Omit<Endpoint, "origin"> | string {
  if (!e || typeof e !== "object") return "not an object";
  const { host, port, ports } = e as Record<string, unknown>;
  const bad = validateEndpointFields(host, port);
  if (bad) return bad;
  const named: Record<string, number> = {};
  if (ports && typeof ports === "object") {
    for (const [k, p] of Object.entries(ports)) {
      if (validateEndpointFields(host, p) === null) named[k] = p as number;
    }
  }
  return { host: host as string, port: port as number, ports: named };
}
