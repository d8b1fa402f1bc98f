/**
 * The ZooKeeper sessions of one aurproxy: one per distinct `zk_servers` string, created on
 * first use. An object created in `main.ts` and passed down, so tests can have their own.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ZkReaders } from "./reader.ts";
import { ZkSession } from "./session.ts";
import type { HealthCheckResult } from "../model/health.ts";

export interface ZkSessionsOptions {
  readonly sessionTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * The canonical form of a `zk_servers` string: hosts trimmed, lower-cased and sorted, so
 * that every way of writing one ensemble names the same session (and the same sources).
 *
 * @example
 * ```ts
 * normalizeEnsemble(" ZK2:2181, zk1:2181"); // "zk1:2181,zk2:2181"
 * ```
 */
export function normalizeEnsemble(connectString: string): string {
  return connectString.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean).sort()
    .join(",");
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * async function watchEnsemble() {
 *   const sessions = new ZkSessions({
 *     sessionTimeoutMs: 30_000,
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *     metrics: new MetricsRegistry("aurproxy"),
 *   });
 *   const s = sessions.get("zk1:2181,zk2:2181"); // the same session as "zk2:2181,zk1:2181"
 *   await s.waitConnected(5000);
 *   await sessions.closeAll();
 * }
 * ```
 */
export class ZkSessions implements ZkReaders {
  readonly #o: ZkSessionsOptions;
  readonly #sessions = new Map<string, ZkSession>();

  constructor(opts: ZkSessionsOptions) {
    this.#o = opts;
  }

  /** The session for this connect string (hosts in any order name the same ensemble). */
  get(connectString: string): ZkSession {
    const key = normalizeEnsemble(connectString);
    let s = this.#sessions.get(key);
    if (!s) {
      s = new ZkSession(key, {
        sessionTimeoutMs: this.#o.sessionTimeoutMs,
        clock: this.#o.clock,
        logger: this.#o.logger,
      });
      this.#sessions.set(key, s);
    }
    return s;
  }

  get size(): number {
    return this.#sessions.size;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
    this.#sessions.clear();
  }

  /** Per-ensemble state for /health: degraded while any ensemble is not connected. */
  health(): HealthCheckResult {
    const now = this.#o.clock.now();
    const lines: string[] = [];
    let level: HealthCheckResult["level"] = "ok";
    for (const s of this.#sessions.values()) {
      const since = Math.round((now - s.stateSince) / 1000);
      const age = Math.round((now - s.lastEventAt) / 1000);
      if (s.state !== "connected" && s.state !== "closed") level = "degraded";
      lines.push(`zk ${s.connectString}: ${s.state} for ${since}s, last event ${age}s ago`);
    }
    return { level, lines };
  }

  /** Sets the per-ensemble gauges (called before each metrics scrape). */
  refreshMetrics(): void {
    const { metrics, clock } = this.#o;
    metrics.clear("zk_connected");
    metrics.clear("zk_last_event_age_seconds");
    metrics.clear("zk_session_expirations_total");
    metrics.clear("zk_session_refusals_total");
    for (const s of this.#sessions.values()) {
      const labels = { ensemble: s.connectString };
      metrics.set(
        "zk_connected",
        "1 while the ensemble's session is connected.",
        s.state === "connected" ? 1 : 0,
        labels,
      );
      metrics.set(
        "zk_last_event_age_seconds",
        "Seconds since the last event from the ensemble.",
        (clock.now() - s.lastEventAt) / 1000,
        labels,
      );
      metrics.setCounter(
        "zk_session_expirations_total",
        "Sessions expired and rebuilt.",
        s.expirations,
        labels,
      );
      metrics.setCounter(
        "zk_session_refusals_total",
        "Sessions every server refused (an ensemble rebuilt or restored behind them), replaced by fresh ones.",
        s.refusals,
        labels,
      );
    }
  }
}
