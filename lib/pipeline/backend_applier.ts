/**
 * The backend applier: the reconciler's apply stage. It brings the proxy backend to each
 * snapshot (`apply` with a reload), counts the outcome, logs failures, remembers the last
 * snapshot the proxy confirmed running and since when updates have been failing, and
 * contributes that to /health, with what the backend sees of the proxy itself and the
 * state of a proxy process the backend supervises.
 *
 * Aurora restarts a task whose /health fails, so updates failing fail it only when a
 * restart may help and they have failed for longer than `updateFailureThresholdMs`: a
 * reload that does not take or a write that fails (nginx stuck, a full disk). A config the
 * proxy refuses never does: the restarted task would render the same config, and its
 * `--setup` would refuse it before nginx even starts; the previous config keeps serving.
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
  /**
   * How long updates may fail in a way a restart could fix before /health fails
   * (`--update-failure-threshold-seconds`). Default {@linkcode DEFAULT_UPDATE_FAILURE_THRESHOLD_MS}.
   */
  readonly updateFailureThresholdMs?: number;
}

/** Default of `--update-failure-threshold-seconds`: 60 s, six of Aurora's default checks. */
export const DEFAULT_UPDATE_FAILURE_THRESHOLD_MS = 60_000;

/** A failure logged as an error is logged again at most this often while it repeats. */
const REPEAT_LOG_MS = 60_000;

/** Failures that may pass by themselves or with a restart, as opposed to a refused config. */
const retryable = (r: ApplyResult) => r.kind === "reload_failed" || r.kind === "error";

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
  /** When the current run of retryable failures began. */
  #stuckSince?: number;
  /** The last failure logged as an error, and when. */
  #logged?: { readonly line: string; readonly at: number };

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
    const { clock } = this.#deps;
    this.#inc(M.attempts);
    const result = await this.backend.apply(snapshot, { reload: true });
    this.#lastResult = result;
    if (retryable(result)) this.#stuckSince ??= clock.now();
    else this.#stuckSince = undefined;
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
        this.#logFailure(`new proxy config rejected, previous config stays live: ${result.error}`);
        break;
      case "reload_failed":
      case "error":
        this.#inc(M.failures);
        this.#failingSince ??= clock.now();
        this.#logFailure(`proxy update failed, retrying: ${result.error}`);
        break;
    }
    return result;
  }

  /** True when the proxy drifted from what was applied: the next period tick updates. */
  needsUpdate(): boolean {
    return this.backend.drifted?.() ?? false;
  }

  /**
   * Health contribution: what the backend sees of the proxy (nginx not running, another
   * config, no worker: failed), updates failing (degraded; failed once retryable failures
   * last longer than the threshold), and the state of a supervised proxy process.
   * Failed lines come first: /health's body starts with the reason.
   */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const failed: string[] = [];
      const degraded: string[] = [];
      const add = (level: HealthLevel, line: string) =>
        level === "failed" ? failed.push(line) : level === "degraded" && degraded.push(line);
      const seen = this.backend.health?.();
      for (const line of seen?.lines ?? []) add(seen!.level, line);
      const r = this.#lastResult;
      if (this.#failingSince !== undefined && r) {
        const now = this.#deps.clock.now();
        const age = Math.round((now - this.#failingSince) / 1000);
        const why = "error" in r ? r.error : r.kind;
        const threshold = this.#deps.updateFailureThresholdMs ??
          DEFAULT_UPDATE_FAILURE_THRESHOLD_MS;
        if (this.#stuckSince !== undefined && now - this.#stuckSince > threshold) {
          const limit = Math.round(threshold / 1000);
          add("failed", `proxy update failing for ${age}s (longer than ${limit}s): ${why}`);
        } else if (seen?.level !== "failed" || !retryable(r)) {
          // (When the backend already says why the proxy cannot be updated, once is enough.)
          const live = r.kind === "invalid" ? " (previous config still live)" : "";
          add("degraded", `proxy update failing for ${age}s${live}: ${why}`);
        }
      }
      const proc = this.backend.status?.();
      if (proc && proc.state !== "running") {
        // Only a proxy the supervisor gave up on is something a restart of aurproxy fixes.
        add(
          proc.state === "failed" ? "failed" : "degraded",
          `${this.backend.name} ${proc.state}: ${proc.detail}`,
        );
      }
      const level: HealthLevel = failed.length ? "failed" : degraded.length ? "degraded" : "ok";
      return { level, lines: [...failed, ...degraded] };
    };
  }

  /**
   * Logs a failed update as an error, but the same failure again within a minute (retried
   * every --update-period, or refused again at each comment-only change) only at debug.
   */
  #logFailure(line: string): void {
    const { logger, clock } = this.#deps;
    const now = clock.now();
    if (this.#logged?.line === line && now - this.#logged.at < REPEAT_LOG_MS) {
      logger.debug(line);
      return;
    }
    this.#logged = { line, at: now };
    logger.error(line);
  }

  #inc(m: readonly [string, string]): void {
    this.#deps.metrics.inc(m[0], m[1]);
  }
}
