/**
 * HAProxy as aurproxy's supervised child: `haproxy -W -db -f FILE -S MASTER_SOCKET`, the
 * master in the foreground (its workers in its process group), restarted with backoff by
 * the {@linkcode Supervisor}. Started once the first apply wrote the file; up once the
 * stats socket answers; stopped with SIGUSR1 (soft stop: workers finish their
 * connections), killed at the deadline.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { Supervisor } from "../../process/supervisor.ts";
import type { ProxyProcessStatus } from "../backend.ts";
import { statsPid } from "./master.ts";
import type { HaproxyOptions } from "./options.ts";

/** The supervised HAProxy of one backend. */
export class HaproxyProcess {
  readonly #supervisor: Supervisor;
  readonly #options: HaproxyOptions;

  constructor(options: HaproxyOptions, binary: string, logger: Logger) {
    this.#options = options;
    this.#supervisor = new Supervisor({
      name: "haproxy",
      argv: [binary, "-W", "-db", "-f", options.configurationFile, "-S", options.masterSocket],
      logger: logger.child("haproxy"),
      stopSignal: "SIGUSR1",
      stopTimeoutMs: 30_000,
      lineLevel: (line) => /\[(ALERT|EMERG)\]/.test(line) ? "error" : "info",
    });
  }

  /** Starts it; resolves once its stats socket answers, rejects after 10 s. */
  async start(): Promise<void> {
    this.#supervisor.start();
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const pid = await statsPid(this.#options.statsSocket).catch(() => undefined);
      if (pid !== undefined) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`HAProxy did not answer on ${this.#options.statsSocket} within 10 s`);
  }

  /** Soft stop, killed after `deadlineMs` (default 30 s). */
  async stop(deadlineMs?: number): Promise<void> {
    const s = this.#supervisor;
    if (deadlineMs === undefined) {
      await s.stop();
      return;
    }
    const timer = setTimeout(() => s.signal("SIGKILL"), deadlineMs);
    try {
      await s.stop();
    } finally {
      clearTimeout(timer);
    }
  }

  /** For /health. */
  status(): ProxyProcessStatus {
    const st = this.#supervisor.status();
    const state = st.state === "backing_off"
      ? "restarting"
      : st.state === "stopping"
      ? "running"
      : st.state;
    const detail = st.state === "running" || st.state === "starting"
      ? `haproxy (pid ${st.pid}) ${st.state}`
      : st.lastExit
      ? `haproxy ${st.state}: last exit ${JSON.stringify(st.lastExit)}`
      : `haproxy ${st.state}`;
    return { state, pid: st.pid, restarts: st.restarts, detail };
  }
}
