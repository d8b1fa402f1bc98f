/**
 * Builds the immutable {@linkcode ProxySnapshot} from the config and the current pool
 * members. Pure: the caller supplies the members of each route's or stream's pools.
 *
 * @module
 */

import type { PoolsConfig, ProxyConfig } from "../model/config.ts";
import type { Resolution } from "./host_resolver.ts";
import type { Pool, ProxySnapshot, SkippedEndpoint, Upstream } from "../model/snapshot.ts";
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
}

/**
 * @example
 * ```ts
 * const snap = buildSnapshot(config, (pools) => app.membersOf(pools), { adjust: true, now: Date.now() });
 * snap.servers[0].routes[0].endpoints; // weighted endpoints
 * ```
 */
export function buildSnapshot(
  config: ProxyConfig,
  membersOf: (pools: PoolsConfig) => PoolMembers,
  opts: BuildOptions,
): ProxySnapshot {
  const upstream = (pools: PoolsConfig, slug: string): Upstream => {
    const m = membersOf(pools);
    const skipped: SkippedEndpoint[] = [];
    const addressed = (members: readonly PoolMember[], pool: Pool): PoolMember[] => {
      if (!opts.addressOf) return [...members];
      return members.flatMap((mem) => {
        const r = opts.addressOf!(mem.endpoint.host);
        if ("address" in r) return [{ ...mem, address: r.address }];
        const { host, port } = mem.endpoint;
        skipped.push({
          host,
          port,
          pool,
          source: mem.source,
          reason: `cannot resolve: ${r.error}`,
        });
        return [];
      });
    };
    const r = computeWeights({
      primary: addressed(m.primary, "primary"),
      overflow: addressed(m.overflow, "overflow"),
      overflowThresholdPct: pools.overflowThresholdPct,
      adjust: opts.adjust,
    });
    return { slug, endpoints: r.endpoints, skipped, failOpen: r.failOpen, notes: r.notes };
  };
  return deepFreeze({
    context: config.context,
    builtAt: opts.now,
    adjustmentDelayed: !opts.adjust,
    servers: config.servers.map((s) => ({
      slug: s.slug,
      hosts: s.hosts,
      ports: s.ports,
      healthcheckRoute: s.healthcheckRoute,
      context: s.context,
      routes: s.routes.map((r) => ({
        ...upstream(r, r.slug),
        locations: r.locations,
        emptyEndpointStatusCode: r.emptyEndpointStatusCode,
      })),
      streams: s.streams.map((st) => upstream(st, st.slug)),
    })),
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
