/**
 * The topology: which sources feed which pools. Built once from the config, it creates
 * one {@linkcode TrackedSource} (a source with its endpoints' share adjusters) per
 * configured source, groups them into the primary and overflow pools of every route and
 * stream, and says "something changed" whenever an endpoint or a share did. It knows
 * nothing of snapshots, weights or the proxy: the reconciler reads its members.
 *
 * @module
 */

import type { LiveUpstreams } from "../backends/backend.ts";
import type { Clock } from "../clock.ts";
import { ChangeSignal, type Unsubscribe } from "../lifecycle/signal.ts";
import type { Logger } from "../log.ts";
import type { AdjusterConfig, PoolsConfig, ProxyConfig, SourceConfig } from "../model/config.ts";
import type { HealthCheckResult, HealthProbe } from "../model/health.ts";
import { type Endpoint, endpointKey } from "../model/endpoint.ts";
import type { AdjusterFactory } from "../share/adjuster.ts";
import type { Source } from "../sources/source.ts";
import type { PoolMembers } from "./snapshot_builder.ts";
import { TrackedSource } from "./tracked_source.ts";

/** What the reconciler needs of the topology: the current members of every pool. */
export interface MemberView {
  /** The current members of one route's or stream's pools. */
  membersOf(pools: PoolsConfig): PoolMembers;
  /** Every endpoint host name, for the resolver (repeats allowed). */
  hosts(): Iterable<string>;
}

export interface TopologyDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Builds a source from its config (the table of known source kinds lives in the wiring). */
  readonly createSource: (config: SourceConfig) => Source;
  /** Builds an adjuster factory from its config. */
  readonly createAdjuster: (config: AdjusterConfig) => AdjusterFactory;
  /**
   * What the live proxy config serves (read at start-up): each source is told what it has
   * there, to serve should its registry not answer (see `Source.keepUntilRead`).
   */
  readonly live?: LiveUpstreams;
}

interface Pools {
  readonly primary: readonly TrackedSource[];
  readonly overflow: readonly TrackedSource[];
}

/**
 * The endpoints the live config serves for each of a pool's sources: the servers whose
 * audit names the source (in any upstream: every stream of a TCP server shares one), or,
 * for a pool of one source that no server names (renamed since the file was written), the
 * servers of its pool in its upstream that name no configured source. Pure.
 *
 * @example
 * ```ts
 * import type { LiveUpstreams } from "../backends/backend.ts";
 * import { ListSource } from "../sources/list_source.ts";
 *
 * const live: LiveUpstreams = {
 *   from: "the live nginx config",
 *   file: "/etc/aurproxy/nginx/nginx.conf",
 *   upstreams: new Map([["web", [
 *     { host: "10.0.0.1", address: "10.0.0.1", port: 80, weight: 1, pool: "primary", source: "a" },
 *   ]]]),
 * };
 * const a = new ListSource("a", []);
 * liveEndpointsOf(live, "web", "primary", [a], new Set(["a"])).get(a)?.[0].port; // 80
 * ```
 */
export function liveEndpointsOf(
  live: LiveUpstreams,
  slug: string,
  pool: "primary" | "overflow",
  sources: readonly Source[],
  configured: ReadonlySet<string>,
): Map<Source, Endpoint[]> {
  const out = new Map<Source, Endpoint[]>();
  const add = (source: Source, host: string, port: number, where: string) => {
    const list = out.get(source) ?? [];
    if (!list.some((e) => endpointKey(e) === endpointKey({ host, port }))) {
      list.push({ host, port, ports: {}, origin: `${live.file} (upstream ${where})` });
    }
    out.set(source, list);
  };
  for (const source of sources) {
    for (const [u, servers] of live.upstreams) {
      for (const s of servers) {
        if (s.source === source.name && s.pool === pool) add(source, s.host, s.port, u);
      }
    }
  }
  if (sources.length === 1 && !out.has(sources[0])) {
    for (const s of live.upstreams.get(slug) ?? []) {
      if (s.pool === pool && !(s.source && configured.has(s.source))) {
        add(sources[0], s.host, s.port, slug);
      }
    }
  }
  return out;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { parseConfig } from "../kinds.ts";
 * import { memoryLogger } from "../log.ts";
 * import { ListSource } from "../sources/list_source.ts";
 *
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [
 *     { source_class: "static", name: "web", host: "10.0.0.1", port: 80 },
 *   ] }] }],
 * });
 * const topology = new Topology(config, {
 *   clock: systemClock,
 *   logger: memoryLogger(),
 *   createSource: () => new ListSource("web", [{ host: "10.0.0.1", port: 80, ports: {} }]),
 *   createAdjuster: () => {
 *     throw new Error("none configured");
 *   },
 * });
 * topology.onChange(() => console.log("update due")); // the reconciler's markDirty
 * await topology.start();
 * topology.membersOf(config.servers[0].routes[0]).primary.length; // 1
 * await topology.stop();
 * ```
 */
export class Topology implements MemberView {
  readonly config: ProxyConfig;
  readonly #deps: TopologyDeps;
  readonly #pools = new Map<PoolsConfig, Pools>();
  readonly #tracked: TrackedSource[] = [];
  readonly #changed = new ChangeSignal();

  constructor(config: ProxyConfig, deps: TopologyDeps) {
    this.config = config;
    this.#deps = deps;
    const onChange = () => this.#changed.emit();
    const track = (sc: SourceConfig) => {
      const t = new TrackedSource(
        deps.createSource(sc),
        sc.shareAdjusters.map((a) => deps.createAdjuster(a)),
        { clock: deps.clock, logger: deps.logger.child("tracker"), onChange },
      );
      this.#tracked.push(t);
      return t;
    };
    for (const server of config.servers) {
      // A route's mirror pool is a pool like the others (its adjusters apply too).
      const mirrors = server.routes.flatMap((r) => r.mirror ? [r.mirror] : []);
      for (const pools of [...server.routes, ...server.streams, ...mirrors]) {
        this.#pools.set(pools, {
          primary: pools.sources.map(track),
          overflow: pools.overflowSources.map(track),
        });
      }
    }
    if (deps.live) this.#seed(deps.live);
  }

  /** Tells every source what the live config serves for it. */
  #seed(live: LiveUpstreams): void {
    const names = new Set(this.#tracked.map((t) => t.source.name));
    for (const [pools, p] of this.#pools) {
      for (const [kind, tracked] of [["primary", p.primary], ["overflow", p.overflow]] as const) {
        const sources = tracked.map((t) => t.source);
        for (const [source, endpoints] of liveEndpointsOf(live, pools.slug, kind, sources, names)) {
          source.keepUntilRead?.(endpoints, live.from);
        }
      }
    }
  }

  /** Every source, in config order. */
  get sources(): readonly Source[] {
    return this.#tracked.map((t) => t.source);
  }

  /** Calls `fn` whenever an endpoint or a share may have changed. */
  onChange(fn: () => void): Unsubscribe {
    return this.#changed.subscribe(fn);
  }

  /** Starts every source (and, as endpoints appear, their adjusters). */
  async start(): Promise<void> {
    await Promise.all(this.#tracked.map((t) => t.start()));
  }

  /** Stops every source and adjuster; a failing source is logged, the others still stop. */
  async stop(): Promise<void> {
    const results = await Promise.allSettled(this.#tracked.map((t) => t.stop()));
    for (const r of results) {
      if (r.status === "rejected") this.#deps.logger.error("stopping a source failed", r.reason);
    }
  }

  membersOf(pools: PoolsConfig): PoolMembers {
    const p = this.#pools.get(pools);
    if (!p) throw new Error("internal: unknown pool");
    return {
      primary: p.primary.flatMap((t) => t.members()),
      overflow: p.overflow.flatMap((t) => t.members()),
    };
  }

  *hosts(): Iterable<string> {
    for (const t of this.#tracked) {
      for (const e of t.source.endpoints()) yield e.host;
    }
  }

  /** Health contribution: degraded while any source's registry state is unhealthy. */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const lines: string[] = [];
      for (const s of this.sources) {
        const st = s.status?.();
        if (st && !st.healthy) lines.push(`${s.name}: ${st.detail}`);
      }
      return { level: lines.length ? "degraded" : "ok", lines };
    };
  }
}
