/**
 * The dashboard's feed from a running {@linkcode ProxyApp}: its change log, its sources
 * with their registry state, and its adjusters' factors as they are now (health checks
 * run between snapshots, so the snapshot's factors may be minutes old). Reads whichever
 * app runs (a SIGHUP swaps it).
 *
 * @module
 */

import type { ProxyApp } from "../../app.ts";
import type { ShareFactor } from "../../model/share.ts";
import { type DashboardFeed, factorKey } from "./model.ts";

/** The factors of every endpoint of every pool of `app`, by {@linkcode factorKey}. */
export function liveFactorsOf(app: ProxyApp): Map<string, readonly ShareFactor[]> {
  const out = new Map<string, readonly ShareFactor[]>();
  for (const s of app.config.servers) {
    const mirrors = s.routes.flatMap((r) => r.mirror ? [r.mirror] : []);
    for (const pools of [...s.routes, ...s.streams, ...mirrors]) {
      const m = app.topology.membersOf(pools);
      for (const [pool, members] of [["primary", m.primary], ["overflow", m.overflow]] as const) {
        for (const p of members) {
          out.set(
            factorKey(pools.slug, pool, p.source, p.endpoint.host, p.endpoint.port),
            p.factors,
          );
        }
      }
    }
  }
  return out;
}

/**
 * @example
 * ```ts
 * import type { ProxyApp } from "../../app.ts";
 *
 * function feed(app: ProxyApp) {
 *   return appFeed(() => app, { startedAt: Date.now(), version: "0.1.0" });
 * }
 * ```
 */
export function appFeed(
  current: () => ProxyApp,
  o: { readonly startedAt: number; readonly version: string },
): DashboardFeed {
  return {
    startedAt: o.startedAt,
    version: o.version,
    changes: () => current().changes.entries(),
    sources: () =>
      current().sources.map((s) => ({
        name: s.name,
        status: s.status?.(),
        registry: s.registryState?.(),
      })),
    liveFactors: () => liveFactorsOf(current()),
    proxy: () => {
      const backend = current().applier.backend;
      const status = backend.status?.();
      return status && { backend: backend.name, ...status };
    },
  };
}
