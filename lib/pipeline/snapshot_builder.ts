/**
 * Builds the immutable {@linkcode ProxySnapshot} from the config and the current pool
 * members. Pure: the caller supplies the members of each route's or stream's pools.
 *
 * Given the previous snapshot, an upstream whose inputs did not change (same endpoints,
 * addresses, sources and factors, same adjustment mode) is not weighed again: the previous
 * upstream object is reused, and so is a server all of whose upstreams were. One changed
 * member among 50 jobs rebuilds one upstream, and consumers tell changed upstreams apart
 * by identity. (A factor's `state`, shown in /status.json only, is as of the upstream's
 * last rebuild.)
 *
 * @module
 */

import type { MirrorConfig, PoolsConfig, ProxyConfig } from "../model/config.ts";
import type { Resolution } from "./host_resolver.ts";
import type {
  MirrorSnapshot,
  Pool,
  ProxySnapshot,
  ServerSnapshot,
  SkippedEndpoint,
  Upstream,
  WeightedEndpoint,
} from "../model/snapshot.ts";
import { computeWeights } from "../balance/weights.ts";
import type { PoolMember } from "../model/pool_member.ts";

/** Current members of one route's or stream's pools. */
export interface PoolMembers {
  readonly primary: readonly PoolMember[];
  readonly overflow: readonly PoolMember[];
}

export interface BuildOptions {
  /** False while `--weight-adjustment-delay-seconds` holds adjusters back. */
  readonly adjust: boolean;
  readonly now: number;
  /**
   * The address of a host name (see `lib/host_resolver.ts`). Members without one are left
   * out of the upstream and listed as skipped. Default: every host renders as itself.
   */
  readonly addressOf?: (host: string) => Resolution;
  /**
   * Why an endpoint (at the address rendered) must be left out whatever its source says,
   * or undefined: aurproxy's own management port (`lib/management/own_port.ts`).
   */
  readonly leaveOut?: (address: string, port: number) => string | undefined;
  /** The snapshot built before from the same config: unchanged parts of it are reused. */
  readonly previous?: ProxySnapshot;
}

function sameFactors(a: WeightedEndpoint["factors"], b: PoolMember["factors"]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].share !== b[i].share || a[i].detail !== b[i].detail) {
      return false;
    }
  }
  return true;
}

/**
 * True when weighing `primary` and `overflow` again would give `prev` (factor states
 * aside): the weights depend on nothing else the members carry.
 */
function sameInputs(
  prev: Upstream,
  primary: readonly PoolMember[],
  overflow: readonly PoolMember[],
  skipped: readonly SkippedEndpoint[],
): boolean {
  if (prev.endpoints.length !== primary.length + overflow.length) return false;
  if (prev.skipped.length !== skipped.length) return false;
  let i = 0;
  for (const [members, pool] of [[primary, "primary"], [overflow, "overflow"]] as const) {
    for (const m of members) {
      const e = prev.endpoints[i++];
      if (
        e.pool !== pool || e.port !== m.endpoint.port || e.host !== m.endpoint.host ||
        e.address !== (m.address ?? m.endpoint.host) || e.source !== m.source ||
        !sameFactors(e.factors, m.factors)
      ) return false;
    }
  }
  return skipped.every((s, j) => {
    const p = prev.skipped[j];
    return p.host === s.host && p.port === s.port && p.pool === s.pool &&
      p.source === s.source && p.reason === s.reason && p.cause === s.cause;
  });
}

/**
 * @example
 * ```ts
 * import { parseConfig } from "../kinds.ts";
 * import type { PoolMember } from "../model/pool_member.ts";
 *
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{
 *     ports: [8080],
 *     routes: [{ locations: ["/"], sources: [{ source_class: "static", name: "web", host: "10.0.0.1", port: 80 }] }],
 *   }],
 * });
 * // What the pools' sources and adjusters say now (the topology's members in aurproxy).
 * const member: PoolMember = {
 *   endpoint: { host: "10.0.0.1", port: 80, ports: { default: 80 } },
 *   source: "static.web",
 *   factors: [{ name: "ramp", share: 0.5, detail: "ramping 30/60s" }],
 * };
 * const snap = buildSnapshot(config, () => ({ primary: [member], overflow: [] }), { adjust: true, now: Date.now() });
 * snap.servers[0].routes[0].endpoints; // weighted endpoints: 10.0.0.1:80 with its share and weight
 * ```
 */
export function buildSnapshot(
  config: ProxyConfig,
  membersOf: (pools: PoolsConfig) => PoolMembers,
  opts: BuildOptions,
): ProxySnapshot {
  const reuse = opts.previous?.adjustmentDelayed === !opts.adjust ? opts.previous : undefined;
  const upstream = (pools: PoolsConfig, slug: string, prev: Upstream | undefined): Upstream => {
    const m = membersOf(pools);
    const skipped: SkippedEndpoint[] = [];
    const addressed = (members: readonly PoolMember[], pool: Pool): PoolMember[] => {
      if (!opts.addressOf && !opts.leaveOut) return [...members];
      return members.flatMap((mem) => {
        const { host, port } = mem.endpoint;
        const r = opts.addressOf?.(host) ?? { address: host };
        const skip = (reason: string, cause: SkippedEndpoint["cause"]) => {
          skipped.push({ host, port, pool, source: mem.source, reason, cause });
          return [];
        };
        if (!("address" in r)) return skip(`cannot resolve: ${r.error}`, "unresolved");
        const own = opts.leaveOut?.(r.address, port);
        if (own) return skip(own, "management_port");
        return [opts.addressOf ? { ...mem, address: r.address } : mem];
      });
    };
    const primary = addressed(m.primary, "primary");
    const overflow = addressed(m.overflow, "overflow");
    if (prev?.slug === slug && sameInputs(prev, primary, overflow, skipped)) return prev;
    const r = computeWeights({
      primary,
      overflow,
      overflowThresholdPct: pools.overflowThresholdPct,
      adjust: opts.adjust,
    });
    return { slug, endpoints: r.endpoints, skipped, failOpen: r.failOpen, notes: r.notes };
  };
  // A route's mirror pool, weighed like its primary pool; reused when unchanged.
  const mirrorOf = (m: MirrorConfig, prev: MirrorSnapshot | undefined): MirrorSnapshot => {
    const u = upstream(m, m.slug, prev);
    return u === prev ? prev : {
      ...u,
      percent: m.percent,
      key: m.key,
      requestBody: m.requestBody,
      connectTimeoutSeconds: m.connectTimeoutSeconds,
      timeoutSeconds: m.timeoutSeconds,
    };
  };
  const server = (s: ProxyConfig["servers"][number], i: number): ServerSnapshot => {
    const p = reuse?.servers[i];
    const prev = p?.slug === s.slug && p.hosts === s.hosts && p.ports === s.ports &&
        p.context === s.context && p.healthcheckRoute === s.healthcheckRoute &&
        p.routes.length === s.routes.length && p.streams.length === s.streams.length
      ? p
      : undefined;
    const routes = s.routes.map((r, j) => {
      const before = prev?.routes[j];
      const was = before?.locations === r.locations &&
          before.emptyEndpointStatusCode === r.emptyEndpointStatusCode
        ? before
        : undefined;
      const u = upstream(r, r.slug, was);
      const mirror = r.mirror && mirrorOf(r.mirror, was?.mirror);
      return u === was && mirror === was?.mirror ? was : {
        ...u,
        locations: r.locations,
        emptyEndpointStatusCode: r.emptyEndpointStatusCode,
        ...(mirror ? { mirror } : {}),
      };
    });
    const streams = s.streams.map((st, j) => upstream(st, st.slug, prev?.streams[j]));
    if (
      prev && routes.every((r, j) => r === prev.routes[j]) &&
      streams.every((st, j) => st === prev.streams[j])
    ) return prev;
    return {
      slug: s.slug,
      hosts: s.hosts,
      ports: s.ports,
      healthcheckRoute: s.healthcheckRoute,
      context: s.context,
      routes,
      streams,
    };
  };
  // Reused parts are frozen already: deepFreeze stops at them.
  return deepFreeze({
    context: config.context,
    builtAt: opts.now,
    adjustmentDelayed: !opts.adjust,
    servers: config.servers.map(server),
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
