/**
 * The proxy manager assembled: a facade over the pipeline's parts, each in its own file.
 *
 * - {@linkcode Topology} (`pipeline/topology.ts`): config → tracked sources → pool members;
 * - {@linkcode Reconciler} (`pipeline/reconciler.ts`): the updater, one snapshot per update,
 *   listeners told of each snapshot and each apply result;
 * - the listeners it registers: {@linkcode BackendApplier} (the apply stage: apply,
 *   failing-since, its health), {@linkcode EndpointGauges} and the {@linkcode ChangeLog};
 *   the wiring adds its own with `deps.listeners` or {@linkcode ProxyApp.addListener}.
 *
 * @module
 */

import type { ApplyResult, LiveUpstreams, ProxyBackend } from "./backends/backend.ts";
import type { Clock } from "./clock.ts";
import type { Unsubscribe } from "./lifecycle/signal.ts";
import type { Logger } from "./log.ts";
import { EndpointGauges } from "./metrics/endpoint_gauges.ts";
import type { MetricsRegistry } from "./metrics/registry.ts";
import type { AdjusterConfig, ProxyConfig, SourceConfig } from "./model/config.ts";
import type { HealthCheckResult, HealthLevel, HealthProbe } from "./model/health.ts";
import type { ProxySnapshot } from "./model/snapshot.ts";
import { ChangeLog } from "./observability/change_log.ts";
import { BackendApplier } from "./pipeline/backend_applier.ts";
import type { HostResolver } from "./pipeline/host_resolver.ts";
import type { PipelineListener } from "./pipeline/listener.ts";
import { Reconciler, type ReconcilerTiming } from "./pipeline/reconciler.ts";
import { Topology } from "./pipeline/topology.ts";
import type { Updater } from "./pipeline/updater.ts";
import type { AdjusterFactory } from "./share/adjuster.ts";
import type { Source } from "./sources/source.ts";

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
   * Resolves registry host names to the addresses rendered (see
   * `lib/pipeline/host_resolver.ts`). Without one, hosts are rendered as they are.
   */
  readonly resolver?: HostResolver;
  /**
   * Endpoints to leave out whatever their source says: aurproxy's own management port
   * (see `BuildOptions.leaveOut` in `pipeline/snapshot_builder.ts`).
   */
  readonly leaveOut?: (address: string, port: number) => string | undefined;
  /** More listeners (registration, publishers), called after the built-in ones. */
  readonly listeners?: readonly PipelineListener[];
  /** What the live proxy config serves, for sources that cannot read their registry yet. */
  readonly live?: LiveUpstreams;
}

/** The update timing flags, and how long failing updates may last before /health fails. */
export interface ProxyAppOptions extends ReconcilerTiming {
  /** `--update-failure-threshold-seconds` (see `pipeline/backend_applier.ts`). */
  readonly updateFailureThresholdSeconds?: number;
}

/** The proxy aurproxy was to run (`run --supervise`) could not be started. */
export class ProxyStartError extends Error {
  override name = "ProxyStartError";
}

/**
 * @example
 * ```ts
 * import type { ProxyConfig } from "./model/config.ts";
 *
 * async function serve(config: ProxyConfig, deps: ProxyAppDeps) {
 *   const app = new ProxyApp(config, deps, {
 *     updatePeriodSeconds: 2,
 *     minIntervalSeconds: 10,
 *     weightAdjustmentDelaySeconds: 180,
 *   });
 *   await app.start();
 *   app.snapshot(); // what nginx is (about to be) configured with
 *   app.changes.entries(); // what each update changed
 *   await app.stop();
 * }
 * ```
 */
export class ProxyApp {
  readonly config: ProxyConfig;
  readonly topology: Topology;
  readonly reconciler: Reconciler;
  readonly applier: BackendApplier;
  readonly changes: ChangeLog;
  #unsubscribe?: Unsubscribe;
  #running = false;

  constructor(config: ProxyConfig, deps: ProxyAppDeps, opts: ProxyAppOptions) {
    this.config = config;
    const { clock, logger, metrics } = deps;
    this.topology = new Topology(config, deps);
    this.applier = new BackendApplier(deps.backend, {
      clock,
      logger,
      metrics,
      updateFailureThresholdMs: opts.updateFailureThresholdSeconds === undefined
        ? undefined
        : opts.updateFailureThresholdSeconds * 1000,
    });
    this.changes = new ChangeLog({ logger: logger.child("changes") });
    this.reconciler = new Reconciler({
      clock,
      logger,
      config,
      members: this.topology,
      applier: this.applier,
      resolver: deps.resolver,
      leaveOut: deps.leaveOut,
      listeners: [new EndpointGauges(metrics), this.changes, ...(deps.listeners ?? [])],
    }, opts);
  }

  /** Every source, for health and status. */
  get sources(): readonly Source[] {
    return this.topology.sources;
  }

  /** The updater (exposed for tests and benchmarks that count updates). */
  get updater(): Updater {
    return this.reconciler.updater;
  }

  /** The last snapshot built, or undefined before the first update. */
  snapshot(): ProxySnapshot | undefined {
    return this.reconciler.snapshot();
  }

  /** The last snapshot the proxy confirmed running (applied and reloaded, or unchanged). */
  appliedSnapshot(): ProxySnapshot | undefined {
    return this.applier.appliedSnapshot();
  }

  /** The result of the last apply. */
  get lastResult(): ApplyResult | undefined {
    return this.applier.lastResult;
  }

  /** Adds a pipeline listener; returns a function that removes it. */
  addListener(listener: PipelineListener): Unsubscribe {
    return this.reconciler.addListener(listener);
  }

  /** Starts every source, then keeps the proxy up to date until {@linkcode stop}. */
  async start(): Promise<void> {
    this.#running = true;
    this.#unsubscribe = this.topology.onChange(() => this.reconciler.markDirty());
    await this.topology.start();
    this.reconciler.start();
  }

  /**
   * `run --supervise`: starts every source, writes the config once as `--setup` does (one
   * snapshot, no weight adjustment, `reload: false`), starts the proxy on it
   * (`backend.start()`), then keeps it up to date as {@linkcode start} does. Rejects with
   * a {@linkcode ProxyStartError} when the config cannot be written or the proxy does not
   * start; {@linkcode stop} then stops the sources.
   */
  async startSupervised(): Promise<void> {
    const backend = this.applier.backend;
    if (!backend.start) {
      throw new ProxyStartError(`the ${backend.name} backend cannot run its proxy itself`);
    }
    this.#running = true;
    this.#unsubscribe = this.topology.onChange(() => this.reconciler.markDirty());
    await this.topology.start();
    const result = await backend.apply(await this.reconciler.snapshotOnce(), { reload: false });
    if (result.kind !== "applied" && result.kind !== "unchanged") {
      throw new ProxyStartError(
        `the first ${backend.name} config was not written: ${result.error}`,
      );
    }
    try {
      await backend.start();
    } catch (err) {
      throw new ProxyStartError(
        `${backend.name} did not start: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.reconciler.start();
  }

  /**
   * Starts the sources, builds one snapshot with no weight adjustment (adjusters have had
   * no time to judge anything), and stops them again. For `--setup` and `render`.
   */
  async snapshotOnce(): Promise<ProxySnapshot> {
    try {
      await this.topology.start();
      return await this.reconciler.snapshotOnce();
    } finally {
      await this.topology.stop();
    }
  }

  /** `--setup`: writes a validated config once from {@linkcode snapshotOnce}, no reload. */
  async setup(): Promise<ApplyResult> {
    return await this.applier.backend.apply(await this.snapshotOnce(), { reload: false });
  }

  /** Stops updating and stops every source and adjuster. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    await this.reconciler.stop();
    await this.topology.stop();
  }

  /** Builds a snapshot of the desired state now. */
  buildSnapshot(): ProxySnapshot {
    return this.reconciler.buildSnapshot();
  }

  /**
   * Health contribution: sources' registry state, endpoints left out for want of an
   * address, and whether the proxy follows the config.
   */
  healthProbe(): HealthProbe {
    const probes = [
      this.topology.healthProbe(),
      this.reconciler.healthProbe(),
      this.applier.healthProbe(),
    ];
    return (): HealthCheckResult => {
      const results = probes.map((p) => p());
      const level: HealthLevel = results.some((r) => r.level === "failed")
        ? "failed"
        : results.some((r) => r.level === "degraded")
        ? "degraded"
        : "ok";
      // Failed lines first: /health's body starts with the reason.
      const ordered = results.filter((r) => r.level === "failed")
        .concat(results.filter((r) => r.level !== "failed"));
      return { level, lines: ordered.flatMap((r) => r.lines) };
    };
  }
}
