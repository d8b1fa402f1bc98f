/**
 * Continuous traffic for tests that change a proxy's configuration under load: requests
 * are sent one after the other, each on a new connection (so none stays on an old nginx
 * worker), until `stop()`. Every request is recorded with a tag taken just before it was
 * sent and just after its answer arrived, so a test can tell which configuration served it
 * and prove that not one request failed across the changes.
 *
 * One request at a time on purpose: with nothing in flight, nginx's `least_conn` sees every
 * server at 0 connections and falls back to its smooth weighted round robin, whose split is
 * exact to within a request or two; concurrent clients would skew it towards equal counts.
 *
 * @module
 */

import { httpGet } from "./http.ts";

export interface TrafficRecord<T> {
  /** The tag when the request was about to be sent. */
  readonly before: T;
  /** The tag when its answer (or failure) arrived. */
  readonly after: T;
  /** HTTP status; 0 when the request failed below HTTP (refused, reset, timed out). */
  readonly status: number;
  /** The response body (test backends answer with their name). */
  readonly body: string;
  /** Why a request failed below HTTP. */
  readonly error?: string;
}

export interface Traffic<T> {
  /** Every request so far, in order. */
  readonly records: readonly TrafficRecord<T>[];
  /** Requests that did not answer 200. */
  failures(): TrafficRecord<T>[];
  /** Stops after the request in flight and waits for it. */
  stop(): Promise<void>;
}

export interface TrafficOptions<T> {
  /** Read before and after each request (e.g. which config is live). */
  readonly tag: () => T;
  readonly path?: string;
  /** Per-request bound: a request hanging this long counts as failed. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/**
 * @example
 * ```ts
 * const t = startTraffic(8080, { tag: () => app.appliedSnapshot() });
 * // ... change the config ...
 * await t.stop();
 * t.failures().length; // 0
 * ```
 */
export function startTraffic<T>(port: number, opts: TrafficOptions<T>): Traffic<T> {
  const records: TrafficRecord<T>[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const before = opts.tag();
      try {
        const r = await httpGet(port, opts.path ?? "/", { timeoutMs: opts.timeoutMs ?? 5000 });
        records.push({ before, after: opts.tag(), status: r.status || 0, body: r.body });
      } catch (err) {
        records.push({ before, after: opts.tag(), status: 0, body: "", error: String(err) });
      }
    }
  })();
  return {
    records,
    failures: () => records.filter((r) => r.status !== 200),
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
