/**
 * The backend applier: the reconciler's apply stage. It brings the proxy backend to each
 * snapshot (`apply` with a reload), counts the outcome, logs failures, remembers the last
 * snapshot the proxy confirmed running and since when updates have been failing, and
 * contributes that to /health (with the state of a proxy process the backend supervises).
 *
 * @module
 */

import type { ApplyResult, ProxyBackend } from "../backends/backend.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthCheckResult, HealthLevel, HealthProbe } from "../model/health.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import type { SnapshotApplier } from "./listener.ts";

export interface BackendApplierDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
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
 * import type { ProxyBackend } from "../backends/backend.ts";
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import type { ProxySnapshot } from "../model/snapshot.ts";
 *
 * async function update(backend: ProxyBackend, snapshot: ProxySnapshot) {
 *   const metrics = new MetricsRegistry("aurproxy");
 *   const applier = new BackendApplier(backend, { clock: systemClock, logger: memoryLogger(), metrics });
 *   const result = await applier.apply(snapshot);
 *   // The snapshot the proxy runs (this one unless the apply failed) and /health's view.
 *   return { result, running: applier.appliedSnapshot(), health: applier.healthProbe()() };
 * }
 * ```
 */
export class BackendApplier implements SnapshotApplier {
  readonly backend: ProxyBackend;
  readonly #deps: BackendApplierDeps;
  #applied?: ProxySnapshot;
  #lastResult?: ApplyResult;
  #failingSince?: number;

  constructor(backend: ProxyBackend, deps: BackendApplierDeps) {
    this.backend = backend;
    this.#deps = deps;
    for (const m of Object.values(M)) deps.metrics.declareCounter(m[0], m[1]);
  }

  /** The last snapshot the proxy confirmed running (applied and reloaded, or unchanged). */
  appliedSnapshot(): ProxySnapshot | undefined {
    return this.#applied;
  }

  /** The result of the last apply. */
  get lastResult(): ApplyResult | undefined {
    return this.#lastResult;
  }

  /** When the current run of failed applies began, or undefined when the last one passed. */
  get failingSince(): number | undefined {
    return this.#failingSince;
  }

  async apply(snapshot: ProxySnapshot): Promise<ApplyResult> {
    const { logger, clock } = this.#deps;
    this.#inc(M.attempts);
    const result = await this.backend.apply(snapshot, { reload: true });
    this.#lastResult = result;
    switch (result.kind) {
      case "unchanged":
        this.#inc(M.unchanged);
        this.#inc(M.successes);
        this.#failingSince = undefined;
        this.#applied = snapshot;
        break;
      case "applied":
        this.#inc(M.successes);
        this.#failingSince = undefined;
        this.#applied = snapshot;
        break;
      case "invalid":
        this.#inc(M.failures);
        this.#failingSince ??= clock.now();
        logger.error(`new proxy config rejected, previous config stays live: ${result.error}`);
        break;
      case "reload_failed":
      case "error":
        this.#inc(M.failures);
        this.#failingSince ??= clock.now();
        logger.error(`proxy update failed, retrying: ${result.error}`);
        break;
    }
    return result;
  }

  /**
   * Health contribution: degraded while updates fail (the previous config still serves),
   * and the state of the proxy process when the backend supervises one.
   */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const lines: string[] = [];
      let level: HealthLevel = "ok";
      if (this.#failingSince !== undefined && this.#lastResult) {
        const age = Math.round((this.#deps.clock.now() - this.#failingSince) / 1000);
        const r = this.#lastResult;
        const why = "error" in r ? r.error : r.kind;
        level = "degraded";
        lines.push(`proxy update failing for ${age}s (previous config still live): ${why}`);
      }
      const proc = this.backend.status?.();
      if (proc && proc.state !== "running") {
        // Only a proxy the supervisor gave up on is something a restart of aurproxy fixes.
        if (proc.state === "failed") level = "failed";
        else if (level === "ok") level = "degraded";
        lines.push(`${this.backend.name} ${proc.state}: ${proc.detail}`);
      }
      return { level, lines };
    };
  }

  #inc(m: readonly [string, string]): void {
    this.#deps.metrics.inc(m[0], m[1]);
  }
}
