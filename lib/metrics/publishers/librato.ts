/**
 * `LibratoMetricPublisher`: every period, the metrics to Librato's metrics API as the
 * original's client (python-librato's `Queue`) sent them: `POST /v1/metrics` with HTTP
 * basic auth (`api_user:api_token`) and a JSON body of `gauges` and `counters`, each
 * measurement with its name, value, type, the `source`, the `period` and server-side
 * aggregation on (`attributes.aggregate`). Librato takes at most 300 measurements per
 * request, so more are sent in several POSTs of 300, as that client did.
 *
 * @module
 */

import type { FlatMetric } from "../flat_names.ts";
import type { MetricPublisher } from "./publisher.ts";

/** Librato's metrics endpoint. */
export const LIBRATO_API_URL = "https://metrics-api.librato.com/v1/metrics";
/** Measurements per POST (Librato's limit, python-librato's chunk size). */
export const LIBRATO_CHUNK = 300;

export interface LibratoOptions {
  readonly apiUser: string;
  readonly apiToken: string;
  readonly source: string;
  readonly periodSeconds: number;
  /** Where to POST (default {@linkcode LIBRATO_API_URL}); for proxies and tests. */
  readonly apiUrl?: string;
  readonly userAgent: string;
}

/** One measurement as Librato's API takes it. */
export interface LibratoMeasurement {
  readonly name: string;
  readonly value: number;
  readonly type: "gauge" | "counter";
  readonly source: string;
  readonly period: number;
  readonly attributes: { readonly aggregate: true };
}

/** One POST's body. */
export interface LibratoBody {
  readonly gauges: LibratoMeasurement[];
  readonly counters: LibratoMeasurement[];
}

/**
 * The bodies to POST for `metrics`: chunks of at most {@linkcode LIBRATO_CHUNK}
 * measurements. Values Librato cannot store (NaN, infinities) are left out.
 *
 * @example
 * ```ts
 * libratoBodies([{ name: "aurproxy.update_attempted", type: "counter", value: 3 }], "web.1", 60);
 * // [{ gauges: [], counters: [{ name: "aurproxy.update_attempted", value: 3, type: "counter",
 * //   source: "web.1", period: 60, attributes: { aggregate: true } }] }]
 * ```
 */
export function libratoBodies(
  metrics: readonly FlatMetric[],
  source: string,
  period: number,
): LibratoBody[] {
  const bodies: LibratoBody[] = [];
  let current: LibratoBody | undefined;
  let n = 0;
  for (const m of metrics) {
    if (!Number.isFinite(m.value)) continue;
    if (!current || n === LIBRATO_CHUNK) {
      bodies.push(current = { gauges: [], counters: [] });
      n = 0;
    }
    const measurement: LibratoMeasurement = {
      name: m.name.slice(0, 255),
      value: m.value,
      type: m.type,
      source,
      period,
      attributes: { aggregate: true },
    };
    (m.type === "counter" ? current.counters : current.gauges).push(measurement);
    n++;
  }
  return bodies;
}

/**
 * @example
 * ```ts
 * const librato = new LibratoPublisher({
 *   apiUser: "ops@example.com",
 *   apiToken: "t0ken",
 *   source: "devel.web",
 *   periodSeconds: 60,
 *   userAgent: "aurproxy/0.1.0",
 * });
 * // Driven by a PublishLoop: librato.publish(metrics, Date.now(), signal)
 * ```
 */
export class LibratoPublisher implements MetricPublisher {
  readonly name = "librato";
  readonly periodSeconds: number;
  readonly #o: LibratoOptions;
  readonly #auth: string;

  constructor(o: LibratoOptions) {
    this.#o = o;
    this.periodSeconds = o.periodSeconds;
    const bytes = new TextEncoder().encode(`${o.apiUser}:${o.apiToken}`);
    this.#auth = `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }

  async publish(metrics: readonly FlatMetric[], _atMs: number, signal: AbortSignal): Promise<void> {
    const url = this.#o.apiUrl ?? LIBRATO_API_URL;
    for (const body of libratoBodies(metrics, this.#o.source, this.periodSeconds)) {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          authorization: this.#auth,
          "content-type": "application/json",
          "user-agent": this.#o.userAgent,
        },
        body: JSON.stringify(body),
        signal,
      });
      const text = await res.text();
      if (!res.ok) {
        throw new Error(`${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
      }
    }
  }
}
