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
import { socketCommand } from "./socket_command.ts";

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

/** One row of `show stat`, by column name. */
export type StatRow = Readonly<Record<string, string>>;

/**
 * Parses `show stat` (CSV with a `# pxname,svname,…` header).
 *
 * @example
 * ```ts
 * parseShowStat("# pxname,svname,scur,\nweb,p1,3,\n")[0].scur; // "3"
 * ```
 */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.find((l) => l.startsWith("# "));
  if (!header) throw new Error(`not HAProxy's show stat: ${JSON.stringify(text.slice(0, 80))}`);
  const names = header.slice(2).split(",");
  return lines.filter((l) => !l.startsWith("#")).map((l) => {
    const f = l.split(",");
    return Object.fromEntries(names.map((n, i) => [n, f[i] ?? ""]));
  });
}

const KIND: Record<string, string> = { "0": "frontend", "1": "backend", "2": "server" };
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
 * const stats = new HaproxyStats("/nonexistent.sock", new MetricsRegistry("aurproxy"), memoryLogger());
 * await stats.poll(); // false: counted, never thrown
 * ```
 */
export class HaproxyStats {
  readonly #socket: string;
  readonly #metrics: MetricsRegistry;
  readonly #logger: Logger;
  #inFlight?: Promise<boolean>;
  #failing = false;

  constructor(socket: string, metrics: MetricsRegistry, logger: Logger) {
    this.#socket = socket;
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
      const rows = parseShowStat(await socketCommand(this.#socket, "show stat", 3000));
      for (const name of [SESSIONS, TOTAL, BYTES_IN, BYTES_OUT, RESPONSES]) m.clear(name[0]);
      for (const r of rows) {
        const kind = KIND[r.type];
        if (!kind) continue;
        // A free slot (in maintenance, never used) is no server to report.
        if (kind === "server" && r.status === "MAINT" && r.stot === "0") continue;
        const labels = { kind, proxy: r.pxname, server: kind === "server" ? r.svname : "" };
        m.set(SESSIONS[0], SESSIONS[1], Number(r.scur) || 0, labels);
        m.setCounter(TOTAL[0], TOTAL[1], Number(r.stot) || 0, labels);
        m.setCounter(BYTES_IN[0], BYTES_IN[1], Number(r.bin) || 0, labels);
        m.setCounter(BYTES_OUT[0], BYTES_OUT[1], Number(r.bout) || 0, labels);
        for (const code of ["1xx", "2xx", "3xx", "4xx", "5xx", "other"]) {
          const v = r[`hrsp_${code}`];
          if (v === undefined || v === "") continue;
          m.setCounter(RESPONSES[0], RESPONSES[1], Number(v) || 0, { ...labels, code });
        }
      }
      m.set(UP[0], UP[1], 1);
      if (this.#failing) this.#logger.info(`HAProxy stats at ${this.#socket} answer again`);
      this.#failing = false;
      return true;
    } catch (err) {
      m.inc(FAILURES[0], FAILURES[1]);
      m.set(UP[0], UP[1], 0);
      const msg = `polling HAProxy stats at ${this.#socket} failed; keeping the last values`;
      if (this.#failing) this.#logger.debug(msg, err);
      else this.#logger.warn(msg, err);
      this.#failing = true;
      return false;
    }
  }
}
