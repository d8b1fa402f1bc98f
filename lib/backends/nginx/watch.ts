/**
 * The nginx aurproxy manages, as seen from outside: is the process the pid file names our
 * master, does it have workers, and (once it is gone) did its workers outlive it. Used
 * before every reload and by /health, which must fail when restarting the task is the
 * remedy: nginx not running (its workers, orphaned by a `kill -9` of the master, may still
 * hold the ports and serve a frozen config), running another file, or left without
 * workers.
 *
 * @module
 */

import type { HealthCheckResult } from "../../model/health.ts";
import type { NginxBinary } from "./binary.ts";
import { inspectMaster, type MasterCheck, whyNotOurs } from "./master.ts";
import type { NginxOptions } from "./options.ts";
import { ProcAccessError } from "../../process/proc_access.ts";
import {
  accepting,
  childrenOf,
  type NginxChild,
  type ProcInfo,
  readProc,
  stillRunning,
} from "./process.ts";

/**
 * The master aurproxy runs itself (supervising mode): its pid comes from the supervisor,
 * never from the pid file.
 */
export interface OwnMaster {
  /** The running child's pid; undefined while it is restarting or stopped. */
  pid(): number | undefined;
  /** Why no child runs, for /health and the log ("restarting in 2 s after ..."). */
  whyDown(): string;
}

/**
 * @example
 * ```ts
 * import { resolveNginx } from "./binary.ts";
 *
 * const options = {
 *   configurationFile: "/etc/aurproxy/nginx/nginx.conf",
 *   pidPath: "/var/run/nginx.pid",
 *   binary: "nginx",
 * };
 * const watch = new NginxWatch(options, () => resolveNginx("nginx"));
 * watch.health().level; // "failed" when nginx is not running
 * ```
 */
export class NginxWatch {
  readonly #options: NginxOptions;
  readonly #binary: () => NginxBinary;
  /** Our master and its workers when last seen, to find the workers that outlive it. */
  #lastSeen?: { readonly master: ProcInfo; readonly workers: readonly NginxChild[] };
  #own?: OwnMaster;

  constructor(options: NginxOptions, binary: () => NginxBinary) {
    this.#options = options;
    this.#binary = binary;
  }

  /** From now on the master is aurproxy's own child (see {@linkcode OwnMaster}). */
  supervise(own: OwnMaster): void {
    this.#own = own;
  }

  /** What the pid file (or, supervising, the supervisor) names now; remembers our master's workers. */
  check(): MasterCheck {
    const o = this.#options;
    const check = this.#own
      ? ownCheck(this.#own)
      : inspectMaster(o.pidPath, o.configurationFile, this.#binary());
    if (check.kind === "ours") this.remember(check.proc, childrenOf(check.proc));
    return check;
  }

  /** Records our master and its workers (after a reload, or a check). */
  remember(master: ProcInfo, workers: readonly NginxChild[]): void {
    this.#lastSeen = { master, workers };
  }

  /** Workers of the last master seen that still run though that master has gone. */
  orphans(): ProcInfo[] {
    const seen = this.#lastSeen;
    if (!seen || stillRunning(seen.master)) return [];
    return seen.workers.filter(stillRunning);
  }

  /** Why aurproxy may not reload nginx now (with what to do), or undefined when it may. */
  whyNot(check: MasterCheck): string | undefined {
    if (this.#own && check.kind !== "ours") {
      return `nginx is not running: ${this.#own.whyDown()}`;
    }
    const why = whyNotOurs(check, this.#options);
    if (why === undefined || (check.kind !== "gone" && check.kind !== "no_pid")) return why;
    const left = this.orphans();
    if (!left.length) return why;
    return `${why}; ${left.length} worker(s) of the nginx that was killed (pid(s) ` +
      `${left.map((w) => w.pid).join(", ")}) still hold its ports and serve its last config ` +
      `(restart the task)`;
  }

  /**
   * Health of the nginx itself: failed unless the pid file names our master and it has
   * a worker accepting connections.
   */
  health(): HealthCheckResult {
    let check: MasterCheck;
    try {
      check = this.check();
    } catch (err) {
      if (err instanceof ProcAccessError) return { level: "failed", lines: [err.message] };
      throw err;
    }
    const why = this.whyNot(check);
    if (why !== undefined) return { level: "failed", lines: [why] };
    if (check.kind === "ours" && !this.#lastSeen?.workers.some(accepting)) {
      return {
        level: "failed",
        lines: [
          `nginx (pid ${check.proc.pid}) has no worker process: it accepts no connection ` +
          `(its error log says why)`,
        ],
      };
    }
    return { level: "ok", lines: [] };
  }
}

/** Our own child as a {@linkcode MasterCheck}: ours while it runs. */
function ownCheck(own: OwnMaster): MasterCheck {
  const pid = own.pid();
  if (pid === undefined) return { kind: "no_pid", detail: own.whyDown() };
  const proc = readProc(pid);
  return proc ? { kind: "ours", proc } : { kind: "gone", pid };
}
