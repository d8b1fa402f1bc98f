/**
 * In-process metrics: counters, gauges and histograms with labels. The one store: created
 * once in the wiring and passed to whatever counts; `/metrics` renders it as Prometheus or
 * OpenMetrics text (`exposition.ts`), `/metrics.json` and the publishers read it under the
 * original aurproxy's dotted names (`flat_names.ts`).
 *
 * Names follow Prometheus' conventions, checked here so a wrong one fails the first test
 * that touches it: a counter ends in `_total`; `_count`, `_sum` and `_bucket` belong to
 * histograms.
 *
 * @module
 */

import { openMetricsText, prometheusText } from "./exposition.ts";

export type Labels = Readonly<Record<string, string>>;
export type MetricType = "counter" | "gauge" | "histogram";

/** One labelled value of a counter or gauge. */
export interface SampleValue {
  readonly labels: Labels;
  readonly value: number;
}

/** One labelled series of a histogram: counts per upper bound (cumulative), sum and count. */
export interface HistogramValue {
  readonly labels: Labels;
  /** Cumulative counts, one per bound of {@linkcode FamilyView.buckets}. */
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

/** A metric family as read by the renderers and the name mapping. */
export type FamilyView =
  | {
    readonly name: string;
    readonly type: "counter" | "gauge";
    readonly help: string;
    readonly values: readonly SampleValue[];
  }
  | {
    readonly name: string;
    readonly type: "histogram";
    readonly help: string;
    /** Upper bounds, ascending, without +Inf (implied). */
    readonly buckets: readonly number[];
    readonly values: readonly HistogramValue[];
  };

interface Series {
  labels: Labels;
  value: number;
  counts?: number[];
  sum?: number;
}

interface Family {
  readonly type: MetricType;
  readonly help: string;
  readonly buckets?: readonly number[];
  readonly values: Map<string, Series>;
}

/** Default histogram bounds (seconds): the Prometheus client libraries' defaults. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const HISTOGRAM_SUFFIX = /_(count|sum|bucket)$/;

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

/** A sample as returned by {@linkcode MetricsRegistry.samples}. */
export interface Sample {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly labels: Labels;
  readonly value: number;
}

/**
 * @example
 * ```ts
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("update_attempts_total", "Proxy update attempts.");
 * m.set("endpoints", "Endpoints rendered.", 3, { pool: "primary" });
 * m.observe("apply_duration_seconds", "Apply duration.", 0.2);
 * m.root().set("process_open_fds", "Open file descriptors.", 12); // no prefix
 * m.prometheus(); // "# HELP aurproxy_apply_duration_seconds ..."
 * ```
 */
export class MetricsRegistry {
  readonly #prefix: string;
  readonly #families: Map<string, Family>;

  constructor(prefix = "aurproxy", families?: Map<string, Family>) {
    this.#prefix = prefix;
    this.#families = families ?? new Map();
  }

  /**
   * The same store without the prefix, for the standard names every exporter shares
   * (`process_cpu_seconds_total`, ...).
   */
  root(): MetricsRegistry {
    return new MetricsRegistry("", this.#families);
  }

  #full(name: string): string {
    return this.#prefix ? `${this.#prefix}_${name}` : name;
  }

  #family(name: string, type: MetricType, help: string, buckets?: readonly number[]): Family {
    const full = this.#full(name);
    let f = this.#families.get(full);
    if (!f) {
      checkName(full, type);
      f = { type, help, values: new Map(), buckets: type === "histogram" ? buckets : undefined };
      this.#families.set(full, f);
    } else if (f.type !== type) {
      throw new Error(`metric ${full} is a ${f.type}, not a ${type}`);
    }
    return f;
  }

  /** Declares a counter so it is exported as 0 before its first increment. */
  declareCounter(name: string, help: string, labels: Labels = {}): void {
    const f = this.#family(name, "counter", help);
    const key = labelKey(labels);
    if (!f.values.has(key)) f.values.set(key, { labels, value: 0 });
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const f = this.#family(name, "counter", help);
    const key = labelKey(labels);
    const cur = f.values.get(key);
    if (cur) cur.value += by;
    else f.values.set(key, { labels, value: by });
  }

  /**
   * Sets a counter kept elsewhere and observed here (nginx's request total, the process'
   * CPU seconds): it only goes down when its owner restarted, which scrapers treat as a reset.
   */
  setCounter(name: string, help: string, value: number, labels: Labels = {}): void {
    const f = this.#family(name, "counter", help);
    f.values.set(labelKey(labels), { labels, value });
  }

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels: Labels = {}): void {
    const f = this.#family(name, "gauge", help);
    f.values.set(labelKey(labels), { labels, value });
  }

  /**
   * Declares a histogram so it is exported (all zero) before its first observation.
   * `buckets` are upper bounds, ascending; the first declaration or observation fixes them.
   */
  declareHistogram(
    name: string,
    help: string,
    buckets: readonly number[] = DEFAULT_BUCKETS,
    labels: Labels = {},
  ): void {
    const f = this.#family(name, "histogram", help, checkBuckets(buckets));
    const key = labelKey(labels);
    if (!f.values.has(key)) f.values.set(key, emptySeries(labels, f.buckets!.length));
  }

  /** Records one observation (seconds, bytes, ...) in a histogram. */
  observe(
    name: string,
    help: string,
    value: number,
    labels: Labels = {},
    buckets: readonly number[] = DEFAULT_BUCKETS,
  ): void {
    const f = this.#family(name, "histogram", help, checkBuckets(buckets));
    const key = labelKey(labels);
    let s = f.values.get(key);
    if (!s) f.values.set(key, s = emptySeries(labels, f.buckets!.length));
    f.buckets!.forEach((bound, i) => {
      if (value <= bound) s.counts![i]++;
    });
    s.value++;
    s.sum! += value;
  }

  /** Removes every sample of a metric (before re-setting a labelled set that may shrink). */
  clear(name: string): void {
    this.#families.get(this.#full(name))?.values.clear();
  }

  /** Current value (a histogram's: its count), or 0 when never set. */
  get(name: string, labels: Labels = {}): number {
    return this.#families.get(this.#full(name))?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Every family with its current values, sorted by name. */
  families(): FamilyView[] {
    return [...this.#families].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(
      ([name, f]): FamilyView => {
        const series = [...f.values.values()];
        if (f.type === "histogram") {
          return {
            name,
            type: "histogram",
            help: f.help,
            buckets: f.buckets!,
            values: series.map((s) => ({
              labels: s.labels,
              counts: [...s.counts!],
              sum: s.sum!,
              count: s.value,
            })),
          };
        }
        return {
          name,
          type: f.type,
          help: f.help,
          values: series.map((s) => ({ labels: s.labels, value: s.value })),
        };
      },
    );
  }

  /** Every counter and gauge sample; a histogram as its `_count` and `_sum`. */
  samples(): Sample[] {
    return this.families().flatMap((f): Sample[] =>
      f.type === "histogram"
        ? f.values.flatMap((h) => [
          { name: `${f.name}_count`, type: "counter", labels: h.labels, value: h.count },
          { name: `${f.name}_sum`, type: "counter", labels: h.labels, value: h.sum },
        ])
        : f.values.map((v) => ({ name: f.name, type: f.type, labels: v.labels, value: v.value }))
    );
  }

  /** Prometheus text exposition format, version 0.0.4. */
  prometheus(): string {
    return prometheusText(this.families());
  }

  /** OpenMetrics text format 1.0.0 (for scrapers that ask for it). */
  openMetrics(): string {
    return openMetricsText(this.families());
  }
}

function emptySeries(labels: Labels, bounds: number): Series {
  return { labels, value: 0, counts: new Array(bounds).fill(0), sum: 0 };
}

function checkName(full: string, type: MetricType): void {
  if (!NAME.test(full)) throw new Error(`invalid metric name: ${full}`);
  if (type === "counter" && !full.endsWith("_total")) {
    throw new Error(`counter ${full} must end in _total`);
  }
  if (type !== "counter" && full.endsWith("_total")) {
    throw new Error(`${type} ${full} must not end in _total (only counters do)`);
  }
  if (HISTOGRAM_SUFFIX.test(full)) {
    throw new Error(`metric ${full}: _count, _sum and _bucket are a histogram's own series`);
  }
}

function checkBuckets(buckets: readonly number[]): readonly number[] {
  if (
    !buckets.length ||
    buckets.some((b, i) => !Number.isFinite(b) || b <= (buckets[i - 1] ?? -Infinity))
  ) {
    throw new Error(`histogram buckets must be finite and ascending: ${buckets.join(",")}`);
  }
  return buckets;
}
