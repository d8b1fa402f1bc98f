/**
 * `OpenTSDBMetricPublisher`: every period, one TCP connection to OpenTSDB's telnet-style
 * port carrying one `put` line per metric, exactly as the original wrote them:
 * `put <prefix><source><name> <unix seconds> <value, 6 decimals> host=<hostname> pid=<pid>`.
 * Prefix, source and name are joined as given (the original's `prefix=apps.` and a source
 * ending in `.` make `apps.<source>.aurproxy.update_attempted`).
 *
 * @module
 */

import type { FlatMetric } from "../flat_names.ts";
import type { MetricPublisher } from "./publisher.ts";

export interface OpenTsdbOptions {
  readonly prefix: string;
  readonly host: string;
  readonly port: number;
  readonly source: string;
  readonly periodSeconds: number;
  /** The `host=` tag (this machine's host name). */
  readonly hostname: string;
  /** The `pid=` tag. */
  readonly pid: number;
}

/**
 * The `put` lines for `metrics` at `atMs`. Values OpenTSDB cannot store (NaN, infinities)
 * are left out.
 *
 * @example
 * ```ts
 * openTsdbLines([{ name: "aurproxy.update_attempted", type: "counter", value: 3 }], 1700000000500, {
 *   prefix: "apps.", source: "web.", hostname: "h1", pid: 42,
 * });
 * // "put apps.web.aurproxy.update_attempted 1700000000 3.000000 host=h1 pid=42\n"
 * ```
 */
export function openTsdbLines(
  metrics: readonly FlatMetric[],
  atMs: number,
  o: Pick<OpenTsdbOptions, "prefix" | "source" | "hostname" | "pid">,
): string {
  const ts = Math.floor(atMs / 1000);
  return metrics.filter((m) => Number.isFinite(m.value)).map((m) =>
    `put ${o.prefix}${o.source}${m.name} ${ts} ${
      m.value.toFixed(6)
    } host=${o.hostname} pid=${o.pid}\n`
  ).join("");
}

/**
 * @example
 * ```ts
 * const tsdb = new OpenTsdbPublisher({
 *   prefix: "apps.", host: "localhost", port: 4242, source: "devel.web.",
 *   periodSeconds: 60, hostname: "web-1.example.com", pid: Deno.pid,
 * });
 * // Driven by a PublishLoop: tsdb.publish(metrics, Date.now(), signal)
 * ```
 */
export class OpenTsdbPublisher implements MetricPublisher {
  readonly name = "opentsdb";
  readonly periodSeconds: number;
  readonly #o: OpenTsdbOptions;

  constructor(o: OpenTsdbOptions) {
    this.#o = o;
    this.periodSeconds = o.periodSeconds;
  }

  async publish(metrics: readonly FlatMetric[], atMs: number, signal: AbortSignal): Promise<void> {
    const data = new TextEncoder().encode(openTsdbLines(metrics, atMs, this.#o));
    const conn = await Deno.connect({ hostname: this.#o.host, port: this.#o.port, signal });
    // A server that stops reading must not hold the write past the deadline.
    const close = () => {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    };
    signal.addEventListener("abort", close, { once: true });
    try {
      conn.setNoDelay(true);
      for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
    } finally {
      signal.removeEventListener("abort", close);
      close();
    }
  }
}
