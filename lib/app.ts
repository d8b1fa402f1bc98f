/**
 * The running proxy manager: sources → tracked endpoints with adjusters → snapshot →
 * backend, driven by the updater. Constructed from a validated config and collaborators;
 * `main.ts` decides which real collaborators to pass, tests may pass their own.
 *
 * @module
 */

import type { ProxyBackend } from "./backends/backend.ts";
import type { PoolMembers } from "./pipeline/snapshot_builder.ts";
import { buildSnapshot } from "./pipeline/snapshot_builder.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { AdjusterConfig, PoolsConfig, ProxyConfig, SourceConfig } from "./model/config.ts";
import type { HostResolver } from "./pipeline/host_resolver.ts";
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics/registry.ts";
import type { AdjusterFactory } from "./share/adjuster.ts";
import { TrackedSource } from "./pipeline/tracked_source.ts";
import type { ProxySnapshot } from "./model/snapshot.ts";
import type { Source } from "./sources/source.ts";
import { type UpdateOutcome, Updater } from "./pipeline/updater.ts";
import type { ApplyResult } from "./backends/backend.ts";
import type { HealthCheckResult, HealthProbe } from "./model/health.ts";

export interface ProxyAppDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly backend: ProxyBackend;
  /** Builds a source from its config (the table of known source kinds lives in main). */
  readonly createSource: (config: SourceConfig) => Source;
  /** Builds an adjuster factory from its config. */
  readonly createAdjuster: (config: AdjusterConfig) => AdjusterFactory;
  /**
   * Resolves registry host names to the addresses rendered (see `lib/host_resolver.ts`).
   * Without one, hosts are rendered as they are.
   */
  readonly resolver?: HostResolver;
}

export interface ProxyAppOptions {
  /** `--update-period`, seconds. */
  readonly updatePeriodSeconds: number;
  /** `--max-update-frequency`: minimum seconds between proxy updates. */
  readonly minIntervalSeconds: number;
  /** `--weight-adjustment-delay-seconds`. */
  readonly weightAdjustmentDelaySeconds: number;
}

interface Pools {
  readonly primary: readonly TrackedSource[];
  readonly overflow: readonly TrackedSource[];
}

const M = {
  attempts: ["update_attempts_total", "Proxy updates attempted."],
  successes: ["update_successes_total", "Proxy updates that left the proxy on the desired config."],
  failures: ["update_failures_total", "Proxy updates that failed (invalid config, reload, I/O)."],
  unchanged: ["update_unchanged_total", "Proxy updates that found the config already current."],
} as const;

/**
 * @example
 * ```ts
 * const app = new ProxyApp(config, deps, { updatePeriodSeconds: 2, minIntervalSeconds: 10, weightAdjustmentDelaySeconds: 180 });
 * await app.start();
 * app.snapshot(); // what nginx is (about to be) configured with
 * await app.stop();
 * ```
 */
export class ProxyApp {
  readonly config: ProxyConfig;
  readonly #deps: ProxyAppDeps;
  readonly #opts: ProxyAppOptions;
  readonly #pools = new Map<PoolsConfig, Pools>();
  readonly #tracked: TrackedSource[] = [];
  readonly #updater: Updater;
  #startedAt = 0;
  #delayTimer?: TimerId;
  #snapshot?: ProxySnapshot;
  #applied?: ProxySnapshot;
  #lastResult?: ApplyResult;
  #failingSince?: number;

  constructor(config: ProxyConfig, deps: ProxyAppDeps, opts: ProxyAppOptions) {
    this.config = config;
    this.#deps = deps;
    this.#opts = opts;
    this.#updater = new Updater({
      clock: deps.clock,
      logger: deps.logger.child("updater"),
      updatePeriodSeconds: opts.updatePeriodSeconds,
      minIntervalSeconds: opts.minIntervalSeconds,
      update: () => this.#update(),
    });
    const onChange = () => this.#updater.markDirty();
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
      for (const pools of [...server.routes, ...server.streams]) {
        this.#pools.set(pools, {
          primary: pools.sources.map(track),
          overflow: pools.overflowSources.map(track),
        });
      }
    }
    for (const m of Object.values(M)) deps.metrics.declareCounter(m[0], m[1]);
  }

  /** Every source, for health and status. */
  get sources(): readonly Source[] {
    return this.#tracked.map((t) => t.source);
  }

  /** The updater (exposed for tests and benchmarks that count updates). */
  get updater(): Updater {
    return this.#updater;
  }

  /** The last snapshot built, or undefined before the first update. */
  snapshot(): ProxySnapshot | undefined {
    return this.#snapshot;
  }

  /** The last snapshot the proxy confirmed running (applied and reloaded, or unchanged). */
  appliedSnapshot(): ProxySnapshot | undefined {
    return this.#applied;
  }

  /** The result of the last apply. */
  get lastResult(): ApplyResult | undefined {
    return this.#lastResult;
  }

  /** Starts every source, then keeps the proxy up to date until {@linkcode stop}. */
  async start(): Promise<void> {
    this.#startedAt = this.#deps.clock.now();
    await Promise.all(this.#tracked.map((t) => t.start()));
    this.#deps.resolver?.start(() => this.#updater.markDirty());
    const delayMs = this.#opts.weightAdjustmentDelaySeconds * 1000;
    if (delayMs > 0) {
      // The end of the delay changes weights without any source event: trigger an update.
      this.#delayTimer = this.#deps.clock.setTimeout(() => {
        this.#delayTimer = undefined;
        this.#deps.logger.info("weight adjustment delay over: adjusters now apply");
        this.#updater.markDirty();
      }, delayMs);
    }
    this.#updater.start();
    this.#updater.markDirty();
  }

  /**
   * Starts the sources, builds one snapshot with no weight adjustment (adjusters have had
   * no time to judge anything), and stops them again. For `--setup` and `render`.
   */
  async snapshotOnce(): Promise<ProxySnapshot> {
    try {
      await Promise.all(this.#tracked.map((t) => t.start()));
      await this.#resolveHosts();
      return this.#build(false);
    } finally {
      await this.#stopSources();
    }
  }

  /** `--setup`: writes a validated config once from {@linkcode snapshotOnce}, no reload. */
  async setup(): Promise<ApplyResult> {
    return await this.#deps.backend.apply(await this.snapshotOnce(), { reload: false });
  }

  /** Stops updating and stops every source and adjuster. */
  async stop(): Promise<void> {
    if (this.#delayTimer !== undefined) this.#deps.clock.clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    this.#deps.resolver?.stop();
    await this.#updater.stop();
    await this.#stopSources();
  }

  async #stopSources(): Promise<void> {
    const results = await Promise.allSettled(this.#tracked.map((t) => t.stop()));
    for (const r of results) {
      if (r.status === "rejected") this.#deps.logger.error("stopping a source failed", r.reason);
    }
  }

  /** Builds a snapshot of the desired state now. */
  buildSnapshot(): ProxySnapshot {
    const delayMs = this.#opts.weightAdjustmentDelaySeconds * 1000;
    return this.#build(this.#deps.clock.now() >= this.#startedAt + delayMs);
  }

  #build(adjust: boolean): ProxySnapshot {
    const membersOf = (p: PoolsConfig): PoolMembers => {
      const pools = this.#pools.get(p);
      if (!pools) throw new Error("internal: unknown pool");
      return {
        primary: pools.primary.flatMap((t) => t.members()),
        overflow: pools.overflow.flatMap((t) => t.members()),
      };
    };
    const { resolver, clock } = this.#deps;
    return buildSnapshot(this.config, membersOf, {
      adjust,
      now: clock.now(),
      addressOf: resolver && ((host) => resolver.addressOf(host)),
    });
  }

  /** Looks up host names not seen before, so the snapshot can render their addresses. */
  async #resolveHosts(): Promise<void> {
    const { resolver } = this.#deps;
    if (!resolver) return;
    await resolver.resolve(
      this.#tracked.flatMap((t) => t.source.endpoints().map((e) => e.host)),
    );
  }

  async #update(): Promise<UpdateOutcome> {
    const { metrics, logger, backend, clock } = this.#deps;
    const inc = (m: readonly [string, string]) => metrics.inc(m[0], m[1]);
    inc(M.attempts);
    await this.#resolveHosts();
    const snap = this.buildSnapshot();
    this.#snapshot = snap;
    this.#recordEndpointGauges(snap);
    const result = await backend.apply(snap, { reload: true });
    this.#lastResult = result;
    switch (result.kind) {
      case "unchanged":
        inc(M.unchanged);
        inc(M.successes);
        this.#failingSince = undefined;
        this.#applied = snap;
        return "done";
      case "applied":
        inc(M.successes);
        this.#failingSince = undefined;
        this.#applied = snap;
        logger.info(`proxy config applied in ${Math.round(result.durationMs)} ms`);
        return "done";
      case "invalid":
        inc(M.failures);
        this.#failingSince ??= clock.now();
        logger.error(`new proxy config rejected, previous config stays live: ${result.error}`);
        // Only a new change can produce a different config: wait for one.
        return "done";
      case "reload_failed":
      case "error":
        inc(M.failures);
        this.#failingSince ??= clock.now();
        logger.error(`proxy update failed, retrying: ${result.error}`);
        return "retry";
    }
  }

  #recordEndpointGauges(snap: ProxySnapshot): void {
    const { metrics } = this.#deps;
    metrics.clear("endpoints");
    metrics.clear("endpoints_live");
    metrics.clear("endpoints_unresolved");
    for (const s of snap.servers) {
      for (const u of [...s.routes, ...s.streams]) {
        for (const pool of ["primary", "overflow"] as const) {
          const eps = u.endpoints.filter((e) => e.pool === pool);
          const labels = { upstream: u.slug, pool };
          metrics.set("endpoints", "Endpoints known, by upstream and pool.", eps.length, labels);
          metrics.set(
            "endpoints_live",
            "Endpoints rendered with a weight above 0, by upstream and pool.",
            eps.filter((e) => e.weight > 0).length,
            labels,
          );
          metrics.set(
            "endpoints_unresolved",
            "Endpoints left out because their host name does not resolve.",
            u.skipped.filter((e) => e.pool === pool).length,
            labels,
          );
        }
      }
    }
  }

  /** Health contribution: sources' registry state and whether the proxy follows the config. */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const lines: string[] = [];
      let level: HealthCheckResult["level"] = "ok";
      for (const s of this.sources) {
        const st = s.status?.();
        if (st && !st.healthy) {
          level = "degraded";
          lines.push(`${s.name}: ${st.detail}`);
        }
      }
      const skipped =
        this.#snapshot?.servers.flatMap((s) =>
          [...s.routes, ...s.streams].flatMap((u) => u.skipped)
        ) ?? [];
      if (skipped.length) {
        level = "degraded";
        const names = [...new Set(skipped.map((e) => e.host))];
        lines.push(
          `${skipped.length} endpoint(s) left out, host name(s) not resolving: ` +
            names.slice(0, 5).join(", ") + (names.length > 5 ? ", ..." : ""),
        );
      }
      if (this.#failingSince !== undefined && this.#lastResult) {
        const age = Math.round((this.#deps.clock.now() - this.#failingSince) / 1000);
        const r = this.#lastResult;
        const why = "error" in r ? r.error : r.kind;
        level = "degraded";
        lines.push(`proxy update failing for ${age}s (previous config still live): ${why}`);
      }
      return { level, lines };
    };
  }
}
