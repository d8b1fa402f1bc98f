/**
 * Who answers through a proxy port, and when: one request at a time (a new connection
 * each) for as long as it runs, recording the first and last time each backend's name
 * came back. Discovery-to-traffic is `first(name) - created`; a leave is
 * `last(name) - removed`.
 *
 * @module
 */

import { httpGet } from "../testing/http.ts";
import { epochMs } from "./lib.ts";

/** A running poller. */
export interface AnswerPoller {
  /** Epoch ms when each body (a backend's name) was first / last answered. */
  readonly first: ReadonlyMap<string, number>;
  readonly last: ReadonlyMap<string, number>;
  /** Requests sent and requests that failed (no 200) since the start or `resetCounts`. */
  counts(): { readonly requests: number; readonly failed: number };
  resetCounts(): void;
  /** Ends the loop once the request in flight returns. */
  stop(): Promise<void>;
}

/** Starts polling `port`'s `/`, pausing `pauseMs` between requests (default none). */
export function startAnswerPoller(
  port: number,
  o: { readonly pauseMs?: number } = {},
): AnswerPoller {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let polling = true;
  let requests = 0, failed = 0;
  const loop = (async () => {
    while (polling) {
      let who = "";
      try {
        const r = await httpGet(port, "/", { timeoutMs: 5000 });
        if (r.status === 200) who = r.body;
      } catch {
        // Counted as failed.
      }
      requests++;
      if (!who) failed++;
      const at = epochMs();
      if (!first.has(who)) first.set(who, at);
      last.set(who, at);
      if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  })();
  return {
    first,
    last,
    counts: () => ({ requests, failed }),
    resetCounts: () => (requests = failed = 0),
    stop: async () => {
      polling = false;
      await loop;
    },
  };
}
