/**
 * In-process metrics: counters and gauges with labels, exposed as Prometheus text
 * (`GET /metrics`) and JSON (`GET /metrics.json`), and read by metric publishers.
 * One registry is created in `main.ts` and passed to whatever counts.
 *
 * @module
 */

export type Labels = Readonly<Record<string, string>>;
export type MetricType = "counter" | "gauge";

interface Family {
  readonly type: MetricType;
  readonly help: string;
  readonly values: Map<string, { labels: Labels; value: number }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A sample as returned by {@linkcode MetricsRegistry.samples}. */
export interface Sample {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: Labels;
  readonly value: number;
}

/**
 * @example
 * ```ts
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("update_attempts_total", "Proxy update attempts.");
 * m.set("endpoints", "Endpoints rendered.", 3, { pool: "primary" });
 * m.prometheus(); // "# HELP aurproxy_update_attempts_total ..."
 * ```
 */
export class MetricsRegistry {
  readonly #prefix: string;
  readonly #families = new Map<string, Family>();

  constructor(prefix = "aurproxy") {
    this.#prefix = prefix;
  }

  #family(name: string, type: MetricType, help: string): Family {
    const full = this.#prefix ? `${this.#prefix}_${name}` : name;
    if (!NAME.test(full)) throw new Error(`invalid metric name: ${full}`);
    let f = this.#families.get(full);
    if (!f) {
      f = { type, help, values: new Map() };
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

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels: Labels = {}): void {
    const f = this.#family(name, "gauge", help);
    f.values.set(labelKey(labels), { labels, value });
  }

  /** Removes every sample of a gauge (before re-setting a labelled set that may shrink). */
  clear(name: string): void {
    const full = this.#prefix ? `${this.#prefix}_${name}` : name;
    this.#families.get(full)?.values.clear();
  }

  /** Current value, or 0 when never set. */
  get(name: string, labels: Labels = {}): number {
    const full = this.#prefix ? `${this.#prefix}_${name}` : name;
    return this.#families.get(full)?.values.get(labelKey(labels))?.value ?? 0;
  }

  /** Every sample, for JSON output and publishers. */
  samples(): Sample[] {
    const out: Sample[] = [];
    for (const [name, f] of this.#families) {
      for (const { labels, value } of f.values.values()) {
        out.push({ name, type: f.type, labels, value });
      }
    }
    return out;
  }

  /** Prometheus text exposition format, version 0.0.4. */
  prometheus(): string {
    const lines: string[] = [];
    for (const [name, f] of [...this.#families].sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`# HELP ${name} ${f.help.replace(/\n/g, " ")}`);
      lines.push(`# TYPE ${name} ${f.type}`);
      for (const { labels, value } of f.values.values()) {
        const keys = Object.keys(labels).sort();
        const l = keys.length
          ? `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",")}}`
          : "";
        lines.push(`${name}${l} ${Number.isFinite(value) ? value : 0}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}
