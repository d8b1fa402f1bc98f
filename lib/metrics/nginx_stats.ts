/**
 * nginx's own counters, from the `stub_status` page the config renders when `stats_port` is
 * set (`http://127.0.0.1:<stats_port>/aurproxy/status`, loopback only). Polled before each
 * scrape and each publish; concurrent polls share one request. A failed poll is counted and
 * logged once per outage, and the last values stay: it never fails a scrape or an update.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "./registry.ts";

/** What `stub_status` reports. */
export interface StubStatus {
  readonly active: number;
  readonly accepts: number;
  readonly handled: number;
  readonly requests: number;
  readonly reading: number;
  readonly writing: number;
  readonly waiting: number;
}

const ACTIVE = /Active connections:\s*(\d+)/;
const TOTALS = /server accepts handled requests\s*\n\s*(\d+)\s+(\d+)\s+(\d+)/;
const STATES = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/;

/**
 * Parses the `stub_status` page; throws when it is not one.
 *
 * @example
 * ```ts
 * parseStubStatus(
 *   "Active connections: 2 \nserver accepts handled requests\n 16 16 31 \nReading: 0 Writing: 1 Waiting: 1 \n",
 * ).requests; // 31
 * ```
 */
export function parseStubStatus(text: string): StubStatus {
  const a = ACTIVE.exec(text);
  const t = TOTALS.exec(text);
  const s = STATES.exec(text);
  if (!a || !t || !s) {
    throw new Error(`not an nginx stub_status page: ${JSON.stringify(text.slice(0, 80))}`);
  }
  return {
    active: Number(a[1]),
    accepts: Number(t[1]),
    handled: Number(t[2]),
    requests: Number(t[3]),
    reading: Number(s[1]),
    writing: Number(s[2]),
    waiting: Number(s[3]),
  };
}

export interface NginxStatsOptions {
  /** `stats_port` of the config. */
  readonly port: number;
  readonly metrics: MetricsRegistry;
  readonly logger: Logger;
  /** Bound of one poll (the original's 3 s). */
  readonly timeoutMs?: number;
  /** For tests: the URL to poll instead of the rendered location. */
  readonly url?: string;
}

const CONNECTIONS = ["nginx_connections", "nginx connections by state (stub_status)."] as const;
const COUNTERS = {
  accepts: ["nginx_accepted_connections_total", "Connections nginx accepted (stub_status)."],
  handled: ["nginx_handled_connections_total", "Connections nginx handled (stub_status)."],
  requests: ["nginx_requests_total", "Client requests nginx received (stub_status)."],
} as const;
const FAILURES = [
  "nginx_stats_poll_failures_total",
  "Polls of nginx's stub_status that failed.",
] as const;
const UP = ["nginx_stats_up", "1 when the last poll of nginx's stub_status succeeded."] as const;

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "./registry.ts";
 *
 * const metrics = new MetricsRegistry("aurproxy");
 * const stats = new NginxStats({ port: 8081, metrics, logger: memoryLogger() });
 * await stats.poll(); // false while nginx is not there; counted, never thrown
 * ```
 */
export class NginxStats {
  readonly url: string;
  readonly #o: NginxStatsOptions;
  #inFlight?: Promise<boolean>;
  #failing = false;

  constructor(o: NginxStatsOptions) {
    this.#o = o;
    this.url = o.url ?? `http://127.0.0.1:${o.port}/aurproxy/status`;
    o.metrics.declareCounter(FAILURES[0], FAILURES[1]);
    o.metrics.set(UP[0], UP[1], 0);
  }

  /** Polls once (joining a poll in flight); resolves true when the values are fresh. */
  poll(): Promise<boolean> {
    return this.#inFlight ??= this.#poll().finally(() => (this.#inFlight = undefined));
  }

  async #poll(): Promise<boolean> {
    const { metrics, logger } = this.#o;
    try {
      const res = await fetch(this.url, {
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 3000),
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const s = parseStubStatus(body);
      for (const state of ["active", "reading", "writing", "waiting"] as const) {
        metrics.set(CONNECTIONS[0], CONNECTIONS[1], s[state], { state });
      }
      for (const k of ["accepts", "handled", "requests"] as const) {
        metrics.setCounter(COUNTERS[k][0], COUNTERS[k][1], s[k]);
      }
      metrics.set(UP[0], UP[1], 1);
      if (this.#failing) logger.info(`nginx stats at ${this.url} answer again`);
      this.#failing = false;
      return true;
    } catch (err) {
      metrics.inc(FAILURES[0], FAILURES[1]);
      metrics.set(UP[0], UP[1], 0);
      // Once per outage: a scrape every few seconds must not fill the log.
      const msg = `polling nginx stats at ${this.url} failed; keeping the last values`;
      if (this.#failing) logger.debug(msg, err);
      else logger.warn(msg, err);
      this.#failing = true;
      return false;
    }
  }
}
