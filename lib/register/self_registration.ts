/**
 * Self registration as a listener of the pipeline and a step of shutdown: this aurproxy
 * is registered after the FIRST successful proxy update (never before its proxy serves)
 * and deregistered as the first shutdown step, before the proxy stops.
 *
 * - A failed registration is logged, counted (`aurproxy_registration_failures_total`) and
 *   retried with backoff on the injected clock (1 s doubling to 60 s), forever: AWS
 *   throttling or an outage must not need a restart to recover from.
 * - Health: a registration that keeps failing makes the task DEGRADED, never FAILED. The
 *   proxy itself serves (the targets that do have it keep working, and the next
 *   `synchronize` can add it); failing `/health` would make Aurora restart every aurproxy
 *   of the job during an AWS outage, nginx included, which helps nothing. The original
 *   crashed at start instead; `/health/details` says why and for how long.
 * - Deregistration is bounded: a registration still in flight gets half of
 *   `deregisterTimeoutMs` (default 5 s) to finish (aborting a request AWS already has
 *   would not undo it) and is aborted after that; the deregistration gets what is left.
 *   A hung AWS endpoint costs shutdown at most `deregisterTimeoutMs` in total.
 * - Nothing is deregistered when no registration was ever attempted.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthCheckResult, HealthProbe } from "../model/health.ts";
import { backoffDelay, type BackoffPolicy } from "../process/backoff.ts";
import { errorText, type SelfRegisterer } from "./registerer.ts";

/** What the listener needs. */
export interface SelfRegistrationOptions {
  readonly registerer: SelfRegisterer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Delay before retry number n; default 1 s, doubling, at most 60 s. */
  readonly backoff?: Pick<BackoffPolicy, "initialMs" | "maxMs" | "factor">;
  /** Bound on one registration attempt (the SDK's own timeouts usually end it first). */
  readonly attemptTimeoutMs?: number;
  /** Bound on deregistration at shutdown, in-flight registration included. Default 5 s. */
  readonly deregisterTimeoutMs?: number;
}

/** Where self registration is. */
export type SelfRegistrationState =
  | "waiting"
  | "registering"
  | "registered"
  | "failing"
  | "deregistering"
  | "deregistered"
  | "deregister_failed";

/** Self registration as data, for `/status.json` and tests. */
export interface SelfRegistrationStatus {
  readonly registerer: string;
  readonly state: SelfRegistrationState;
  /** Registration attempts made. */
  readonly attempts: number;
  /** Failed attempts since the last success. */
  readonly consecutiveFailures: number;
  readonly lastError?: string;
  /** Epoch ms of the first failure in the current run of failures. */
  readonly failingSince?: number;
  /** Epoch ms of the next retry, while failing. */
  readonly nextAttemptAt?: number;
  /** Epoch ms of the successful registration. */
  readonly registeredAt?: number;
}

/** The default deregistration bound at shutdown. */
export const DEFAULT_DEREGISTER_TIMEOUT_MS = 5000;
const DEFAULT_BACKOFF = { initialMs: 1000, maxMs: 60_000, factor: 2 };

const M = {
  attempts: [
    "registration_attempts_total",
    "Self registration calls, by op (register, deregister).",
  ],
  failures: ["registration_failures_total", "Self registration calls that failed, by op."],
  registered: ["registration_registered", "1 while this aurproxy is registered upstream."],
} as const;

/** The outcome kinds of an apply that leave the proxy serving the desired config. */
const SERVING = new Set(["applied", "unchanged"]);

/**
 * @example
 * ```ts
 * import { systemClock as clock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import type { SelfRegisterer } from "./registerer.ts";
 *
 * function wire(registerer: SelfRegisterer) {
 *   const reg = new SelfRegistration({ registerer, clock, logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") });
 *   // after each apply:            reg.onApplied(result, snapshot);
 *   // first step of shutdown:      await reg.deregister();
 *   // health probes of /health:    reg.healthProbe()
 *   return reg;
 * }
 * ```
 */
export class SelfRegistration {
  readonly #o: SelfRegistrationOptions;
  #state: SelfRegistrationState = "waiting";
  #attempts = 0;
  #failures = 0;
  #lastError?: string;
  #failingSince?: number;
  #registeredAt?: number;
  #nextAt?: number;
  #retry?: TimerId;
  #inflight?: { promise: Promise<void>; abort: AbortController; timer: TimerId };
  #stopping?: Promise<void>;

  constructor(opts: SelfRegistrationOptions) {
    this.#o = opts;
    for (const op of ["register", "deregister"]) {
      opts.metrics.declareCounter(M.attempts[0], M.attempts[1], { op });
      opts.metrics.declareCounter(M.failures[0], M.failures[1], { op });
    }
    opts.metrics.set(M.registered[0], M.registered[1], 0);
  }

  /**
   * The pipeline listener: called after every apply. The first one that leaves the proxy
   * serving starts registration; every later call is ignored (retries run on their own).
   */
  onApplied(result: { readonly kind: string }, _snapshot?: unknown): void {
    if (this.#state !== "waiting" || this.#stopping || !SERVING.has(result.kind)) return;
    this.#o.logger.info(`proxy serving: registering with ${this.#o.registerer.description}`);
    this.#attempt();
  }

  #attempt(): void {
    this.#retry = undefined;
    this.#nextAt = undefined;
    if (this.#stopping) return;
    const { registerer, metrics, clock, logger } = this.#o;
    if (this.#state === "waiting") this.#state = "registering";
    this.#attempts++;
    metrics.inc(M.attempts[0], M.attempts[1], { op: "register" });
    const abort = new AbortController();
    const timer = clock.setTimeout(
      () => abort.abort(new Error("registration attempt timed out")),
      this.#o.attemptTimeoutMs ?? 60_000,
    );
    const promise = (async () => {
      try {
        await registerer.register(abort.signal);
        if (this.#stopping) {
          // It ignored the abort and finished after deregistration began.
          logger.warn(`registration with ${registerer.description} finished during shutdown`);
          return;
        }
        this.#state = "registered";
        this.#registeredAt = clock.now();
        this.#failures = 0;
        this.#failingSince = undefined;
        this.#lastError = undefined;
        metrics.set(M.registered[0], M.registered[1], 1);
        logger.info(`registered with ${registerer.description}`);
      } catch (err) {
        this.#failures++;
        this.#lastError = errorText(err);
        this.#failingSince ??= clock.now();
        this.#state = "failing";
        metrics.inc(M.failures[0], M.failures[1], { op: "register" });
        if (this.#stopping) return;
        const delay = backoffDelay(
          { ...DEFAULT_BACKOFF, ...this.#o.backoff, resetAfterMs: 0 },
          this.#failures,
        );
        this.#nextAt = clock.now() + delay;
        this.#retry = clock.setTimeout(() => this.#attempt(), delay);
        logger.error(
          `registration with ${registerer.description} failed (attempt ${this.#attempts}), ` +
            `retrying in ${Math.round(delay / 100) / 10}s: ${this.#lastError}`,
        );
      } finally {
        clock.clearTimeout(timer);
        this.#inflight = undefined;
      }
    })();
    this.#inflight = { promise, abort, timer };
  }

  /** Resolves once no registration attempt is in flight (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inflight) await this.#inflight.promise;
  }

  /**
   * The shutdown step: stops retrying, lets an attempt in flight finish (or aborts it
   * after half the bound), deregisters. Never
   * throws and never takes longer than `deregisterTimeoutMs`; later calls return the same
   * promise.
   */
  deregister(): Promise<void> {
    this.#stopping ??= this.#deregister();
    return this.#stopping;
  }

  async #deregister(): Promise<void> {
    const { registerer, metrics, clock, logger } = this.#o;
    if (this.#retry !== undefined) clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#nextAt = undefined;
    const boundMs = this.#o.deregisterTimeoutMs ?? DEFAULT_DEREGISTER_TIMEOUT_MS;
    const abort = new AbortController();
    let timer: TimerId | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(() => {
        const err = new Error(`deregistration gave up after ${boundMs} ms`);
        abort.abort(err);
        reject(err);
      }, boundMs);
    });
    deadline.catch(() => {});
    try {
      if (this.#attempts === 0) {
        logger.info(`never registered with ${registerer.description}: nothing to deregister`);
        return;
      }
      const inflight = this.#inflight;
      if (inflight) {
        // A request already sent is not undone by aborting it: AWS carries it out anyway, and
        // a deregistration that reads the target before it lands would leave this instance
        // registered (a CNAME to a dead host). So it gets half the bound to finish; only one
        // still running then (AWS hung, the SDK backing off) is aborted.
        let grace: TimerId | undefined;
        const finished = await Promise.race([
          inflight.promise.then(() => true),
          new Promise<false>((r) => (grace = clock.setTimeout(() => r(false), boundMs / 2))),
          deadline,
        ]).finally(() => grace !== undefined && clock.clearTimeout(grace));
        if (!finished) {
          clock.clearTimeout(inflight.timer);
          inflight.abort.abort(new Error("shutting down"));
          await Promise.race([inflight.promise, deadline]);
        }
      }
      this.#state = "deregistering";
      metrics.inc(M.attempts[0], M.attempts[1], { op: "deregister" });
      await Promise.race([registerer.deregister(abort.signal), deadline]);
      this.#state = "deregistered";
      metrics.set(M.registered[0], M.registered[1], 0);
      logger.info(`deregistered from ${registerer.description}`);
    } catch (err) {
      this.#state = "deregister_failed";
      this.#lastError = errorText(err);
      metrics.inc(M.failures[0], M.failures[1], { op: "deregister" });
      logger.error(`deregistration from ${registerer.description} failed: ${this.#lastError}`);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      registerer.close();
    }
  }

  /** Self registration as data. */
  status(): SelfRegistrationStatus {
    return {
      registerer: this.#o.registerer.description,
      state: this.#state,
      attempts: this.#attempts,
      consecutiveFailures: this.#failures,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(this.#failingSince !== undefined ? { failingSince: this.#failingSince } : {}),
      ...(this.#nextAt !== undefined ? { nextAttemptAt: this.#nextAt } : {}),
      ...(this.#registeredAt !== undefined ? { registeredAt: this.#registeredAt } : {}),
    };
  }

  /** Health contribution: degraded while registration fails, never failed. */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const s = this.status();
      const what = `registration (${s.registerer})`;
      switch (s.state) {
        case "waiting":
          return { level: "ok", lines: [`${what}: waiting for the first successful proxy update`] };
        case "registering":
          return { level: "ok", lines: [`${what}: registering`] };
        case "registered":
          return { level: "ok", lines: [`${what}: registered`] };
        case "failing": {
          const now = this.#o.clock.now();
          const age = Math.round((now - (s.failingSince ?? now)) / 1000);
          const next = s.nextAttemptAt === undefined
            ? ""
            : `, next try in ${Math.max(0, Math.round((s.nextAttemptAt - now) / 1000))}s`;
          return {
            level: "degraded",
            lines: [
              `${what}: failing for ${age}s (${s.consecutiveFailures} attempt(s)${next}): ${s.lastError}`,
            ],
          };
        }
        case "deregistering":
        case "deregistered":
          return { level: "ok", lines: [`${what}: ${s.state}`] };
        case "deregister_failed":
          return { level: "degraded", lines: [`${what}: deregistration failed: ${s.lastError}`] };
      }
    };
  }
}
