/**
 * Two histograms from the pipeline's events:
 * - `aurproxy_apply_duration_seconds{result}`: how long the apply stage took (render,
 *   `nginx -t`, swap, reload and its confirmation), from `onSnapshot` to `onApplied`;
 * - `aurproxy_discovery_to_apply_seconds`: from a source's change event (ZooKeeper told
 *   the source, the source re-read) to the confirmed reload that carried it. A change whose
 *   apply failed stays pending, so the retry that finally lands it is measured from the
 *   original event; a change that rendered the same config ends without a sample.
 *
 * @module
 */

import type { ApplyResult } from "../backends/backend.ts";
import type { Clock } from "../clock.ts";
import { DEFAULT_BUCKETS, type MetricsRegistry } from "../metrics/registry.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import type { PipelineListener } from "../pipeline/listener.ts";

const APPLY = [
  "apply_duration_seconds",
  "Duration of the apply stage (render, validate, swap, reload, confirm), by result.",
] as const;
const LATENCY = [
  "discovery_to_apply_seconds",
  "From a source's change event to the confirmed proxy reload that applied it.",
] as const;

/** Bounds of the apply histogram: nginx -t and a reload take tens to hundreds of ms. */
export const APPLY_BUCKETS: readonly number[] = [...DEFAULT_BUCKETS, 30];
/** Bounds of the latency histogram: throttling (`--max-update-frequency`) adds seconds. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  20,
  30,
  60,
  120,
  300,
];

const RESULTS: readonly ApplyResult["kind"][] = [
  "applied",
  "unchanged",
  "invalid",
  "reload_failed",
  "error",
];

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const timing = new UpdateTiming({ clock: systemClock, metrics: new MetricsRegistry("aurproxy") });
 * // Wiring: reconciler.addListener(timing); source.onChange(() => timing.sourceChanged());
 * timing.sourceChanged();
 * ```
 */
export class UpdateTiming implements PipelineListener {
  readonly #clock: Clock;
  readonly #metrics: MetricsRegistry;
  /** The earliest change event not yet in a snapshot being applied. */
  #pendingSince?: number;
  readonly #inFlight = new WeakMap<
    ProxySnapshot,
    { readonly startedAt: number; readonly changedAt?: number }
  >();

  constructor(o: { readonly clock: Clock; readonly metrics: MetricsRegistry }) {
    this.#clock = o.clock;
    this.#metrics = o.metrics;
    for (const result of RESULTS) {
      o.metrics.declareHistogram(APPLY[0], APPLY[1], APPLY_BUCKETS, { result });
    }
    o.metrics.declareHistogram(LATENCY[0], LATENCY[1], LATENCY_BUCKETS);
  }

  /** A source said its endpoints changed. */
  sourceChanged(): void {
    this.#pendingSince ??= this.#clock.now();
  }

  onSnapshot(snapshot: ProxySnapshot): void {
    // Built now: it holds every change reported so far.
    this.#inFlight.set(snapshot, {
      startedAt: this.#clock.now(),
      changedAt: this.#pendingSince,
    });
    this.#pendingSince = undefined;
  }

  onApplied(result: ApplyResult, snapshot: ProxySnapshot): void {
    const f = this.#inFlight.get(snapshot);
    if (!f) return;
    this.#inFlight.delete(snapshot);
    const now = this.#clock.now();
    this.#metrics.observe(APPLY[0], APPLY[1], (now - f.startedAt) / 1000, {
      result: result.kind,
    }, APPLY_BUCKETS);
    if (f.changedAt === undefined) return;
    if (result.kind === "applied" && result.reloaded) {
      this.#metrics.observe(
        LATENCY[0],
        LATENCY[1],
        (now - f.changedAt) / 1000,
        {},
        LATENCY_BUCKETS,
      );
    } else if (result.kind !== "applied" && result.kind !== "unchanged") {
      // Not live yet: the next update carries it, measured from the first event.
      this.#pendingSince = Math.min(this.#pendingSince ?? Infinity, f.changedAt);
    }
  }
}
