/**
 * Metric publishers (`--metric-publisher-class`): every period, every metric under the
 * original aurproxy's dotted names goes to an external store (Librato, OpenTSDB, StatsD).
 * The {@linkcode PublishLoop} runs one on its own timer, off the update path: a publish
 * is bounded, a failed one is logged, counted and simply tried again next period, a period
 * whose publish is still running is skipped, and `flush()` sends the last period at
 * shutdown.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import type { Logger } from "../../log.ts";
import { type FlatMetric, flatMetrics } from "../flat_names.ts";
import type { MetricsRegistry } from "../registry.ts";

/** One external metric store. */
export interface MetricPublisher {
  /** Short name for logs and the `publisher` label: `librato`, `opentsdb`, `statsd`. */
  readonly name: string;
  /** Seconds between publishes (the `period` argument, default 60). */
  readonly periodSeconds: number;
  /**
   * Sends every metric, measured at `atMs` (ms since the epoch). Rejects on failure; must
   * give up when `signal` aborts.
   */
  publish(metrics: readonly FlatMetric[], atMs: number, signal: AbortSignal): Promise<void>;
  /** Releases a socket kept between publishes. */
  close?(): void;
}

export interface PublishLoopOptions {
  readonly publisher: MetricPublisher;
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Brings polled gauges up to date first (nginx's stub_status, the process). */
  readonly refresh?: () => Promise<void>;
  /** Bound of one publish (default: the period, at most 10 s). */
  readonly timeoutMs?: number;
}

const PUBLISHES = ["metric_publishes_total", "Metric publishes, by publisher and result."] as const;

/**
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 * import { memoryLogger } from "../../log.ts";
 * import { MetricsRegistry } from "../registry.ts";
 *
 * const metrics = new MetricsRegistry("aurproxy");
 * const publisher: MetricPublisher = {
 *   name: "print",
 *   periodSeconds: 60,
 *   publish: (m) => Promise.resolve(console.log(m.length)),
 * };
 * const loop = new PublishLoop({ publisher, metrics, clock: systemClock, logger: memoryLogger() });
 * loop.start();
 * await loop.flush(); // at shutdown: the last period, then no more
 * ```
 */
export class PublishLoop {
  readonly #o: PublishLoopOptions;
  readonly #timeoutMs: number;
  #timer?: TimerId;
  #inFlight?: Promise<boolean>;
  #stopped = true;
  #failing = false;

  constructor(o: PublishLoopOptions) {
    this.#o = o;
    const periodMs = o.publisher.periodSeconds * 1000;
    this.#timeoutMs = o.timeoutMs ?? Math.min(periodMs, 10_000);
    for (const result of ["ok", "failed", "skipped"]) {
      o.metrics.declareCounter(PUBLISHES[0], PUBLISHES[1], { publisher: o.publisher.name, result });
    }
  }

  /** Publishes every period from now on. */
  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /**
   * Publishes once now (joining a publish in flight), bounded by `timeoutMs` (default: the
   * loop's); resolves true when it went through. Never rejects.
   */
  publishNow(timeoutMs = this.#timeoutMs): Promise<boolean> {
    if (this.#inFlight) return this.#inFlight;
    return this.#inFlight = this.#publish(timeoutMs).finally(() => (this.#inFlight = undefined));
  }

  /**
   * At shutdown: stops the timer, waits for a publish in flight, then sends the last
   * period (bounded by `finalTimeoutMs`, default the loop's timeout) and closes the
   * publisher.
   */
  async flush(finalTimeoutMs = this.#timeoutMs): Promise<void> {
    this.stop();
    await this.#inFlight;
    await this.publishNow(finalTimeoutMs);
    this.#o.publisher.close?.();
  }

  /** Stops publishing (no final publish). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#inFlight) {
        this.#count("skipped");
        this.#o.logger.warn(
          `${this.#o.publisher.name}: the previous publish is still running; skipping this period`,
        );
      } else {
        void this.publishNow();
      }
      this.#schedule();
    }, this.#o.publisher.periodSeconds * 1000);
  }

  async #publish(timeoutMs: number): Promise<boolean> {
    const { publisher, logger, clock, metrics } = this.#o;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      // Raced against the deadline too: a publisher that ignores its signal cannot hold
      // up shutdown.
      await Promise.race([
        (async () => {
          await this.#o.refresh?.();
          await publisher.publish(flatMetrics(metrics.families()), clock.now(), signal);
        })(),
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
      ]);
      this.#count("ok");
      if (this.#failing) logger.info(`${publisher.name}: publishing metrics again`);
      this.#failing = false;
      return true;
    } catch (err) {
      this.#count("failed");
      const why = signal.aborted ? new Error(`timed out after ${timeoutMs} ms`) : err;
      logger.warn(`${publisher.name}: publishing metrics failed; trying again next period`, why);
      this.#failing = true;
      return false;
    }
  }

  #count(result: string): void {
    this.#o.metrics.inc(PUBLISHES[0], PUBLISHES[1], { publisher: this.#o.publisher.name, result });
  }
}
