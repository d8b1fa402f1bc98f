/**
 * HAProxy as aurproxy's own child (`run --supervise`): `haproxy -W -db -f FILE -S MASTER`,
 * the master in the foreground with its workers in its process group, as a
 * `SupervisedProxy` (`../supervised_process.ts`): its Supervisor forwards its stderr into
 * aurproxy's log, passes its stdout (the access log) on as aurproxy's, restarts it with
 * backoff when it dies (on the live file, which always holds the running state, runtime
 * changes included) and stops it with SIGUSR1 (soft stop: workers finish their
 * connections), SIGKILL to the group at the deadline. It is up once its master CLI lists
 * a worker.
 *
 * @module
 */

import type { Clock } from "../../clock.ts";
import type { Level, Logger } from "../../log.ts";
import type { BackoffPolicy } from "../../process/backoff.ts";
import { describeExit } from "../../process/exit.ts";
import type { Supervisor } from "../../process/supervisor.ts";
import type { ProxyProcessStatus } from "../backend.ts";
import { SupervisedProxy } from "../supervised_process.ts";
import { MasterCli } from "./master_cli.ts";
import type { HaproxyOptions } from "./options.ts";

/** HAProxy's `[ALERT]` lines are errors, `[WARNING]` warnings. */
function levelOf(line: string): Level {
  if (/\[(ALERT|EMERG)\]/.test(line)) return "error";
  return /\[WARNING\]/.test(line) ? "warn" : "info";
}

/** The command line of the supervised HAProxy. */
export function ownHaproxyArgv(binary: string, o: HaproxyOptions): string[] {
  return [binary, "-W", "-db", "-f", o.configurationFile, "-S", o.masterSocket];
}

/** What {@linkcode HaproxyProcess} is built with. */
export interface HaproxyProcessOptions {
  readonly binary: string;
  readonly options: HaproxyOptions;
  readonly logger: Logger;
  /** SIGKILL to the group this long after SIGUSR1 (hard-stop-after plus a margin). */
  readonly stopTimeoutMs: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly clock?: Clock;
}

/** The supervised HAProxy of one backend. */
export class HaproxyProcess {
  readonly supervisor: Supervisor;
  readonly argv: readonly string[];
  readonly #proc: SupervisedProxy;
  readonly #master: MasterCli;
  #up = false;

  constructor(o: HaproxyProcessOptions) {
    this.#master = new MasterCli({ socketPath: o.options.masterSocket });
    this.#proc = new SupervisedProxy({
      proxy: "haproxy",
      argv: ownHaproxyArgv(o.binary, o.options),
      logger: o.logger,
      clock: o.clock,
      stopSignal: "SIGUSR1",
      stopTimeoutMs: o.stopTimeoutMs,
      backoff: o.backoff,
      // The access log (`log stdout` by default, as nginx's `access_log /dev/stdout`) goes
      // where aurproxy's stdout goes: the container's or task's output.
      stdout: "inherit",
      levelOf,
      accepting: () => this.#answers(),
      notAccepting: "had no worker",
    });
    this.supervisor = this.#proc.supervisor;
    this.argv = this.#proc.argv;
    this.supervisor.subscribe((e) => {
      if (e.kind === "exited") this.#up = false;
    });
  }

  /** Whether the master CLI lists a worker now. */
  async #answers(): Promise<boolean> {
    const t = await this.#master.showProc().catch(() => undefined);
    return !!t && t.master.pid === this.supervisor.status().pid && t.workers.length > 0;
  }

  /**
   * Starts HAProxy and resolves once a worker runs; rejects (and stops the supervisor: no
   * retry) when HAProxy exits or cannot be spawned first, with what it said on stderr.
   */
  async start(): Promise<void> {
    await this.#proc.start();
    this.#up = true;
  }

  /** SIGUSR1, then SIGKILL to the group `deadlineMs` later; resolves once all are gone. */
  stop(deadlineMs?: number): Promise<void> {
    return this.#proc.stop(deadlineMs);
  }

  /** The child's state for /health and the status page. */
  status(): ProxyProcessStatus {
    const s = this.supervisor.status();
    const restarts = s.restarts;
    switch (s.state) {
      case "starting":
      case "running":
        // A restarted master is up once it runs; the master CLI is not asked here (sync).
        return this.#up || s.state === "running"
          ? { state: "running", pid: s.pid, restarts, detail: `master pid ${s.pid}` }
          : { state: "starting", pid: s.pid, restarts, detail: `master pid ${s.pid} started` };
      case "backing_off": {
        const exit = s.lastExit ? describeExit({ ...s.lastExit, restartInMs: undefined }) : "";
        return {
          state: "restarting",
          restarts,
          detail: `${exit}; backing off: ${s.failures} failure(s) in a row`,
        };
      }
      case "stopping":
      case "stopped":
        return { state: "stopped", restarts, detail: s.state };
    }
  }
}
