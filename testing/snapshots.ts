/**
 * Hand-made snapshots for tests of rendering and applying, without sources or adjusters.
 *
 * @module
 */

import { computeWeights } from "../lib/balance/weights.ts";
import type { Context } from "../lib/model/config.ts";
import type {
  ProxySnapshot,
  ServerSnapshot,
  SkippedEndpoint,
  Upstream,
  WeightedEndpoint,
} from "../lib/model/snapshot.ts";

export interface RouteSpec {
  locations: string[];
  /** Backend ports on 127.0.0.1 (equal weights), or explicit shares per port. */
  ports: number[];
  shares?: number[];
  emptyEndpointStatusCode?: number;
}

export interface ServerSpec {
  hosts?: string[];
  ports: number[];
  healthcheckRoute?: string;
  context?: Context;
  routes?: RouteSpec[];
  /** TCP: backend ports of the one stream. */
  stream?: number[];
}

let counter = 0;

function upstream(slug: string, ports: number[], shares?: number[]): Upstream {
  const r = computeWeights({
    primary: ports.map((port, i) => ({
      endpoint: { host: "127.0.0.1", port, ports: { default: port } },
      source: "test",
      factors: shares ? [{ name: "test", share: shares[i], detail: "set by test" }] : [],
    })),
    overflow: [],
    adjust: true,
  });
  return { slug, endpoints: r.endpoints, skipped: [], failOpen: r.failOpen, notes: r.notes };
}

/**
 * @example
 * ```ts
 * snapshot([{ ports: [8080], routes: [{ locations: ["/"], ports: [9001, 9002] }] }]);
 * ```
 */
export function snapshot(servers: ServerSpec[], context: Context = {}): ProxySnapshot {
  const out: ServerSnapshot[] = servers.map((s, i) => {
    const slug = `s${i}_${++counter}`;
    return {
      slug,
      hosts: s.hosts ?? [],
      ports: s.ports,
      healthcheckRoute: s.healthcheckRoute,
      context: s.context ?? {},
      routes: (s.routes ?? []).map((r, j) => ({
        ...upstream(`${slug}_r${j}`, r.ports, r.shares),
        locations: r.locations,
        emptyEndpointStatusCode: r.emptyEndpointStatusCode ?? 503,
      })),
      streams: s.stream ? [upstream(`${slug}_t0`, s.stream)] : [],
    };
  });
  return { context, servers: out, builtAt: 0, adjustmentDelayed: false };
}

/** What {@linkcode oneRouteSnapshot} is built from. */
export interface OneRouteSnapshot {
  /** The server's hosts (none: any). */
  readonly hosts?: string[];
  readonly endpoints?: readonly WeightedEndpoint[];
  readonly skipped?: readonly SkippedEndpoint[];
  readonly builtAt?: number;
}

/**
 * The snapshot the status page tests show: one server (slug `s`, port 80) with one route
 * `/` (slug `u`, 503 when empty) holding exactly the endpoints given, weights as given.
 *
 * @example
 * ```ts
 * oneRouteSnapshot({ hosts: ["example.com"], builtAt: 1 }).servers[0].routes[0].slug; // "u"
 * ```
 */
export function oneRouteSnapshot(o: OneRouteSnapshot = {}): ProxySnapshot {
  return {
    context: {},
    builtAt: o.builtAt ?? 0,
    adjustmentDelayed: false,
    servers: [{
      slug: "s",
      hosts: o.hosts ?? [],
      ports: [80],
      context: {},
      streams: [],
      routes: [{
        slug: "u",
        locations: ["/"],
        emptyEndpointStatusCode: 503,
        failOpen: false,
        notes: [],
        skipped: o.skipped ?? [],
        endpoints: o.endpoints ?? [],
      }],
    }],
  };
}
