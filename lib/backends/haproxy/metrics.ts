/**
 * The HAProxy backend's counters, and HAProxy's own statistics (`show stat` on the stats
 * socket) as metrics, as nginx's `stub_status` is exposed: polled before each scrape and
 * publish; a failed poll is counted and logged once per outage, never thrown. Per
 * frontend, backend and server (free slots left out): current and total sessions, bytes
 * in and out, responses by status class. HAProxy's counters restart with each new worker
 * (a reload), as counters of a restarted process do.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { RuntimeApi } from "./runtime_api.ts";

/** A counter: its name and help text. */
export type HaproxyMetric = readonly [name: string, help: string];

/** Every counter of the HAProxy backend, declared (at 0) when the backend is made. */
export const HAPROXY_METRICS = {
  writes: ["config_writes_total", "Proxy configs written to the live path."],
  invalid: ["validation_failures_total", "Rendered configs rejected by haproxy -c."],
  reloads: ["reloads_total", "HAProxy reloads confirmed (new worker answering)."],
  reloadFailures: ["reload_failures_total", "HAProxy reloads that failed or were not confirmed."],
  runtimeChanges: [
    "haproxy_runtime_changes_total",
    "Changes applied through HAProxy's runtime API, without a reload.",
  ],
  runtimeFailures: [
    "haproxy_runtime_failures_total",
    "Runtime API changes that failed or were not read back, replaced by a reload.",
  ],
  errors: ["apply_errors_total", "Applies that failed writing the config or reaching HAProxy."],
} as const satisfies Record<string, HaproxyMetric>;

const SESSIONS = [
  "haproxy_current_sessions",
  "Current sessions, by proxy and server (show stat scur).",
];
const TOTAL = ["haproxy_sessions_total", "Sessions since the worker started (show stat stot)."];
const BYTES_IN = ["haproxy_bytes_in_total", "Bytes received (show stat bin)."];
const BYTES_OUT = ["haproxy_bytes_out_total", "Bytes sent (show stat bout)."];
const RESPONSES = ["haproxy_responses_total", "HTTP responses by status class (show stat hrsp_*)."];
const FAILURES = ["haproxy_stats_poll_failures_total", "Polls of HAProxy's show stat that failed."];
const UP = ["haproxy_stats_up", "1 when the last poll of HAProxy's show stat succeeded."];

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../../log.ts";
 * import { MetricsRegistry } from "../../metrics/registry.ts";
 * import { RuntimeApi } from "./runtime_api.ts";
 * const api = new RuntimeApi({ socketPath: "/nonexistent.sock" });
 * const stats = new HaproxyStats(api, new MetricsRegistry("aurproxy"), memoryLogger());
 * await stats.poll(); // false: counted, never thrown
 * ```
 */
export class HaproxyStats {
  readonly #api: RuntimeApi;
  readonly #metrics: MetricsRegistry;
  readonly #logger: Logger;
  #inFlight?: Promise<boolean>;
  #failing = false;

  constructor(api: RuntimeApi, metrics: MetricsRegistry, logger: Logger) {
    this.#api = api;
    this.#metrics = metrics;
    this.#logger = logger;
    metrics.declareCounter(FAILURES[0], FAILURES[1]);
    metrics.set(UP[0], UP[1], 0);
  }

  /** Polls once (joining a poll in flight); resolves true when the values are fresh. */
  poll(): Promise<boolean> {
    return this.#inFlight ??= this.#poll().finally(() => (this.#inFlight = undefined));
  }

  async #poll(): Promise<boolean> {
    const m = this.#metrics;
    try {
      const rows = await this.#api.showStat();
      for (const name of [SESSIONS, TOTAL, BYTES_IN, BYTES_OUT, RESPONSES]) m.clear(name[0]);
      for (const r of rows) {
        const kind = r.type;
        if (kind === "listener") continue;
        const v = r.values;
        // A free slot (in maintenance, never used) is no server to report.
        if (kind === "server" && r.status === "MAINT" && v.stot === "0") continue;
        const labels = { kind, proxy: r.proxy, server: kind === "server" ? r.name : "" };
        m.set(SESSIONS[0], SESSIONS[1], Number(v.scur) || 0, labels);
        m.setCounter(TOTAL[0], TOTAL[1], Number(v.stot) || 0, labels);
        m.setCounter(BYTES_IN[0], BYTES_IN[1], Number(v.bin) || 0, labels);
        m.setCounter(BYTES_OUT[0], BYTES_OUT[1], Number(v.bout) || 0, labels);
        for (const code of ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]) {
          const value = v[`hrsp_${code}`];
          if (value === undefined || value === "") continue;
          m.setCounter(RESPONSES[0], RESPONSES[1], Number(value) || 0, { ...labels, code });
        }
      }
      m.set(UP[0], UP[1], 1);
      if (this.#failing) this.#logger.info(`HAProxy stats at ${this.#api.socketPath} answer again`);
      this.#failing = false;
      return true;
    } catch (err) {
      m.inc(FAILURES[0], FAILURES[1]);
      m.set(UP[0], UP[1], 0);
      const msg =
        `polling HAProxy stats at ${this.#api.socketPath} failed; keeping the last values`;
      if (this.#failing) this.#logger.debug(msg, err);
      else this.#logger.warn(msg, err);
      this.#failing = true;
      return false;
    }
  }
}
