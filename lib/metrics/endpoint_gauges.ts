/**
 * Endpoint gauges from each snapshot: endpoints known, live (weight above 0) and left out
 * (host name not resolving, or aurproxy's own management port), by upstream and pool. A pipeline listener: it reads only the
 * snapshot, and sets only the gauges of upstreams that changed (an unchanged upstream is
 * the same object as in the previous snapshot).
 *
 * @module
 */

import type { ProxySnapshot, Upstream } from "../model/snapshot.ts";
import type { MetricsRegistry } from "./registry.ts";

const G = {
  known: ["endpoints", "Endpoints known, by upstream and pool."],
  live: ["endpoints_live", "Endpoints rendered with a weight above 0, by upstream and pool."],
  unresolved: [
    "endpoints_unresolved",
    "Endpoints left out because their host name does not resolve.",
  ],
  own: [
    "endpoints_management_port",
    "Endpoints left out because they point at aurproxy's own management port.",
  ],
} as const;

function upstreamsOf(snap: ProxySnapshot): Upstream[] {
  return snap.servers.flatMap((s) => [...s.routes, ...s.streams]);
}

/**
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 *
 * const metrics = new MetricsRegistry("aurproxy");
 * const gauges = new EndpointGauges(metrics); // a pipeline listener: reconciler.addListener(gauges)
 * gauges.onSnapshot({ context: {}, servers: [], builtAt: 0, adjustmentDelayed: false }, undefined);
 * metrics.get("endpoints_live", { upstream: "s_default_80_r0", pool: "primary" }); // 0
 * ```
 */
export class EndpointGauges {
  readonly #metrics: MetricsRegistry;

  constructor(metrics: MetricsRegistry) {
    this.#metrics = metrics;
  }

  onSnapshot(snap: ProxySnapshot, previous: ProxySnapshot | undefined): void {
    const now = upstreamsOf(snap);
    const before = previous ? upstreamsOf(previous) : [];
    const sameShape = before.length === now.length &&
      now.every((u, i) => u.slug === before[i].slug);
    if (!sameShape) {
      // Upstreams appeared or went: start over so no gauge of a gone one lingers.
      for (const g of Object.values(G)) this.#metrics.clear(g[0]);
    }
    now.forEach((u, i) => {
      if (sameShape && before[i] === u) return;
      this.#record(u);
    });
  }

  #record(u: Upstream): void {
    const m = this.#metrics;
    for (const pool of ["primary", "overflow"] as const) {
      const labels = { upstream: u.slug, pool };
      let known = 0;
      let live = 0;
      for (const e of u.endpoints) {
        if (e.pool !== pool) continue;
        known++;
        if (e.weight > 0) live++;
      }
      m.set(G.known[0], G.known[1], known, labels);
      m.set(G.live[0], G.live[1], live, labels);
      const skipped = u.skipped.filter((e) => e.pool === pool);
      const own = skipped.filter((e) => e.cause === "management_port").length;
      m.set(G.unresolved[0], G.unresolved[1], skipped.length - own, labels);
      m.set(G.own[0], G.own[1], own, labels);
    }
  }
}
