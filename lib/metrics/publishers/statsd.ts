/**
 * `StatsdMetricPublisher`: every period, the metrics over UDP in StatsD's line format
 * under the same dotted names: a gauge as `name:value|g`, a counter as the increase since
 * the last publish, `name:delta|c` (StatsD counters are deltas; the first publish sends the
 * whole count since start). With `tags`, lines carry DogStatsD's `|#k:v,...` suffix.
 * Lines are packed into datagrams of at most 1432 bytes (one Ethernet frame).
 *
 * @module
 */

import dgram from "node:dgram";
import type { FlatMetric } from "../flat_names.ts";
import type { MetricPublisher } from "./publisher.ts";

/** Largest datagram sent: fits a 1500-byte MTU after IP and UDP headers. */
export const STATSD_MAX_DATAGRAM = 1432;

export interface StatsdOptions {
  readonly host: string;
  readonly port: number;
  /** Prepended to every name (e.g. `apps.web.`). */
  readonly prefix: string;
  /** DogStatsD tags (`env:prod`, ...); none: plain StatsD. */
  readonly tags: readonly string[];
  readonly periodSeconds: number;
}

/**
 * The lines for `metrics`; `last` holds each counter's value at the previous publish and
 * is updated. A counter that went down (its owner restarted) sends its whole value.
 *
 * @example
 * ```ts
 * const last = new Map<string, number>();
 * statsdLines([{ name: "aurproxy.update_attempted", type: "counter", value: 3 }], last, "", []);
 * // ["aurproxy.update_attempted:3|c"]
 * statsdLines([{ name: "aurproxy.update_attempted", type: "counter", value: 5 }], last, "", ["env:prod"]);
 * // ["aurproxy.update_attempted:2|c|#env:prod"]
 * ```
 */
export function statsdLines(
  metrics: readonly FlatMetric[],
  last: Map<string, number>,
  prefix: string,
  tags: readonly string[],
): string[] {
  const suffix = tags.length ? `|#${tags.join(",")}` : "";
  const lines: string[] = [];
  for (const m of metrics) {
    if (!Number.isFinite(m.value)) continue;
    const name = `${prefix}${m.name}`;
    if (m.type === "counter") {
      const before = last.get(m.name) ?? 0;
      last.set(m.name, m.value);
      const delta = m.value >= before ? m.value - before : m.value;
      lines.push(`${name}:${delta}|c${suffix}`);
    } else if (m.value < 0) {
      // A signed gauge value is a change in StatsD: set 0 first, then subtract.
      lines.push(`${name}:0|g${suffix}`, `${name}:${m.value}|g${suffix}`);
    } else {
      lines.push(`${name}:${m.value}|g${suffix}`);
    }
  }
  return lines;
}

/** Packs lines into newline-separated datagrams of at most `max` bytes. */
export function packDatagrams(lines: readonly string[], max = STATSD_MAX_DATAGRAM): string[] {
  const out: string[] = [];
  let cur = "";
  for (const line of lines) {
    if (cur && cur.length + 1 + line.length > max) {
      out.push(cur);
      cur = "";
    }
    cur = cur ? `${cur}\n${line}` : line;
  }
  if (cur) out.push(cur);
  return out;
}

/**
 * @example
 * ```ts
 * const statsd = new StatsdPublisher({
 *   host: "127.0.0.1", port: 8125, prefix: "", tags: ["env:prod"], periodSeconds: 10,
 * });
 * // Driven by a PublishLoop: statsd.publish(metrics, Date.now(), signal)
 * statsd.close();
 * ```
 */
export class StatsdPublisher implements MetricPublisher {
  readonly name = "statsd";
  readonly periodSeconds: number;
  readonly #o: StatsdOptions;
  readonly #last = new Map<string, number>();
  #socket?: dgram.Socket;

  constructor(o: StatsdOptions) {
    this.#o = o;
    this.periodSeconds = o.periodSeconds;
  }

  async publish(metrics: readonly FlatMetric[], _atMs: number, signal: AbortSignal): Promise<void> {
    const socket = this.#socket ??= dgram.createSocket(
      this.#o.host.includes(":") ? "udp6" : "udp4",
    );
    // Deltas are taken on a copy, kept only once every datagram went out: a failed
    // publish sends the same increase again next period.
    const last = new Map(this.#last);
    const packets = packDatagrams(statsdLines(metrics, last, this.#o.prefix, this.#o.tags));
    for (const packet of packets) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) =>
        socket.send(packet, this.#o.port, this.#o.host, (err) => (err ? reject(err) : resolve()))
      );
    }
    for (const [k, v] of last) this.#last.set(k, v);
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }
}
