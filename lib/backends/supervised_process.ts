/**
 * What every backend's `run --supervise` child shares: the proxy in the foreground under
 * a {@linkcode Supervisor} (its own process group; stderr into aurproxy's log, its last
 * lines kept to say why a start failed), a start that resolves once the proxy accepts
 * connections and otherwise rejects with the supervisor stopped (no retry), and a stop
 * with the proxy's graceful signal, then SIGKILL to its whole group at a deadline. What
 * "accepting" means, which signal is graceful and how the state reads in /health is the
 * backend's (`nginx/supervised.ts`, `haproxy/process.ts`).
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Level, Logger } from "../log.ts";
import type { BackoffPolicy } from "../process/backoff.ts";
import { describeExit } from "../process/exit.ts";
import { signalGroup } from "../process/group.ts";
import type { OutputMode } from "../process/options.ts";
import { type ChildExit, Supervisor } from "../process/supervisor.ts";

/** How long a start may take before it counts as failed (nginx retries a busy port 2.5 s). */
const START_TIMEOUT_MS = 15_000;
/** Stderr lines kept to say why a start failed. */
const RECENT_LINES = 10;
/** How often a start asks whether the proxy accepts yet. */
const POLL_MS = 20;

/** What a {@linkcode SupervisedProxy} is built with. */
export interface SupervisedProxyOptions {
  /** The proxy's name in messages: "nginx", "haproxy". */
  readonly proxy: string;
  readonly argv: readonly string[];
  readonly logger: Logger;
  /** The graceful stop: in-flight requests finish (nginx: SIGQUIT; HAProxy: SIGUSR1). */
  readonly stopSignal: Deno.Signal;
  /** The supervisor's own SIGKILL deadline after `stopSignal`. */
  readonly stopTimeoutMs: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly clock?: Clock;
  /** Where the child's stdout goes (default: the supervisor's). */
  readonly stdout?: OutputMode;
  /** The log level of one line the proxy writes to stderr. */
  readonly levelOf: (line: string) => Level;
  /** Whether the proxy accepts connections now (nginx: a worker; HAProxy: its master CLI). */
  readonly accepting: () => boolean | Promise<boolean>;
  /** What a start that never got there says: "accepted no connection", "had no worker". */
  readonly notAccepting: string;
}

/**
 * @example
 * ```ts ignore
 * import { consoleLogger } from "../log.ts";
 * const proxy = new SupervisedProxy({
 *   proxy: "haproxy",
 *   argv: ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"],
 *   logger: consoleLogger(),
 *   stopSignal: "SIGUSR1",
 *   stopTimeoutMs: 32_000,
 *   levelOf: () => "info",
 *   accepting: () => true,
 *   notAccepting: "had no worker",
 * });
 * await proxy.start(); // resolves once `accepting` says so
 * await proxy.stop(32_000); // SIGUSR1, SIGKILL to the group 32 s later
 * ```
 */
export class SupervisedProxy {
  readonly supervisor: Supervisor;
  readonly argv: readonly string[];
  readonly #o: SupervisedProxyOptions;
  readonly #recent: string[] = [];

  constructor(o: SupervisedProxyOptions) {
    this.#o = o;
    this.argv = o.argv;
    this.supervisor = new Supervisor({
      name: "process",
      argv: o.argv,
      logger: o.logger,
      clock: o.clock,
      stopSignal: o.stopSignal,
      stopTimeoutMs: o.stopTimeoutMs,
      backoff: o.backoff,
      stderr: "log",
      stdout: o.stdout,
      lineLevel: (line) => {
        this.#recent.push(line);
        if (this.#recent.length > RECENT_LINES) this.#recent.shift();
        return o.levelOf(line);
      },
    });
  }

  /**
   * Starts the proxy and resolves once it accepts connections; rejects (and stops the
   * supervisor: no retry) when it exits or cannot be spawned first, or does not accept
   * within 15 s, with what it said on stderr.
   */
  async start(): Promise<void> {
    let exit: ChildExit | undefined;
    const off = this.supervisor.subscribe((e) => {
      if (e.kind === "exited") exit ??= e.exit;
    });
    try {
      this.supervisor.start();
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (exit === undefined && Date.now() < deadline) {
        if (await this.#o.accepting()) return;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      await this.supervisor.stop();
      const name = this.#o.proxy;
      const said = this.#recent.length ? `; ${name} said:\n${this.#recent.join("\n")}` : "";
      const how = exit
        ? describeExit({ ...exit, restartInMs: undefined })
        : `${this.#o.notAccepting} within ${START_TIMEOUT_MS / 1000} s`;
      throw new Error(`${name} (${this.argv.join(" ")}) ${how}${said}`);
    } finally {
      off();
    }
  }

  /**
   * The graceful signal, then SIGKILL to the group `deadlineMs` later (at the latest: the
   * supervisor's own deadline); resolves once the proxy and its whole group are gone.
   */
  async stop(deadlineMs?: number): Promise<void> {
    const pid = this.supervisor.status().pid;
    const done = this.supervisor.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (pid !== undefined && deadlineMs !== undefined) {
      timer = setTimeout(() => {
        try {
          signalGroup(pid, "SIGKILL");
        } catch {
          // Gone meanwhile.
        }
      }, deadlineMs);
    }
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
  }
}
