/**
 * Applies a new launch script the original's way: gor has no graceful reload, so the
 * running gor (or placeholder) named by the pid file is ended and Thermos starts the
 * script again (the original's `gor_process` has `max_failures=0` for this).
 *
 * Unlike the original, a process is ended only when its command line is the mirror's
 * (see `mirror_process.ts`), and only when it does not already run what the script says:
 * a first update after a restart of aurproxy, with nothing changed, ends nothing. It gets
 * SIGTERM, and SIGKILL if it is still the same process after `stopTimeoutMs`.
 *
 * @module
 */

import { type Clock, sleep } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MirrorCommand } from "./gor_script.ts";
import type { MirrorRunner } from "./mirror_updater.ts";
import {
  classifyCmdline,
  type MirrorIdentity,
  parsePidFile,
  runsCommand,
} from "./mirror_process.ts";
import { linuxProcessTable, type ProcessTable } from "./process_table.ts";

/** What {@linkcode PidFileRestarter.apply} found and did. */
export type EndOutcome =
  | { readonly kind: "no_pid"; readonly detail: string }
  | { readonly kind: "not_running"; readonly pid: number }
  | { readonly kind: "foreign"; readonly pid: number; readonly argv: readonly string[] }
  | { readonly kind: "current"; readonly pid: number }
  | { readonly kind: "ended"; readonly pid: number; readonly signal: "SIGTERM" | "SIGKILL" };

export interface PidFileRestarterOptions extends MirrorIdentity {
  /** The pid file the script writes. */
  readonly pidPath: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly processes?: ProcessTable;
  /** How long after SIGTERM before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  /** How often to look whether it is gone; default 100 ms. */
  readonly pollMs?: number;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { mirrorCommand } from "./gor_script.ts";
 *
 * const dir = await Deno.makeTempDir(); // stands for /tmp
 * const spec = { mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: `${dir}/mirror_pid`, ports: [8080], maxQps: 100 } as const;
 * const restarter = new PidFileRestarter({
 *   pidPath: spec.pidPath, gorPath: spec.gorPath,
 *   commandPath: "/etc/aurproxy/gor/dynamic.sh", logger: memoryLogger(), clock: systemClock,
 * });
 * const want = mirrorCommand(spec, [{ host: "10.0.0.1", port: 9000 }]);
 * (await restarter.apply(want)).kind; // "no_pid": nothing to end (else e.g. { kind: "ended", pid: 4242, ... })
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class PidFileRestarter implements MirrorRunner {
  readonly #o: PidFileRestarterOptions;
  readonly #procs: ProcessTable;

  constructor(options: PidFileRestarterOptions) {
    this.#o = options;
    this.#procs = options.processes ?? linuxProcessTable;
  }

  /** Ends the running mirror process if it is ours and runs something else than `want`. */
  async apply(want: MirrorCommand): Promise<EndOutcome> {
    const { pidPath, logger } = this.#o;
    let text: string;
    try {
      text = await Deno.readTextFile(pidPath);
    } catch (err) {
      const detail = err instanceof Deno.errors.NotFound
        ? `no pid file ${pidPath}`
        : `cannot read ${pidPath}: ${(err as Error).message}`;
      logger.info(`${detail}: no mirror process to end; it will start with the new script`);
      return { kind: "no_pid", detail };
    }
    const pid = parsePidFile(text);
    if (pid === undefined) {
      const detail = `${pidPath} holds no usable pid: ${JSON.stringify(text.slice(0, 40))}`;
      logger.warn(detail);
      return { kind: "no_pid", detail };
    }
    const info = await this.#procs.inspect(pid);
    if (!info) {
      logger.info(`pid ${pid} from ${pidPath} is not running: nothing to end`);
      return { kind: "not_running", pid };
    }
    const found = classifyCmdline(info.argv, this.#o);
    if (found.kind === "foreign") {
      logger.warn(
        `pid ${pid} from ${pidPath} is not the mirror (runs ${
          JSON.stringify(info.argv.join(" ").slice(0, 200))
        }): left alone`,
      );
      return { kind: "foreign", pid, argv: info.argv };
    }
    if (runsCommand(found, want)) {
      logger.info(`mirror pid ${pid} already runs the current script`);
      return { kind: "current", pid };
    }
    logger.info(`ending mirror ${found.kind} pid ${pid} so it restarts with the new script`);
    this.#procs.signal(pid, "SIGTERM");
    if (await this.#gone(pid, info.startTime)) return { kind: "ended", pid, signal: "SIGTERM" };
    const again = await this.#procs.inspect(pid);
    if (again?.startTime === info.startTime) {
      logger.warn(`mirror pid ${pid} still running ${this.#timeoutMs} ms after SIGTERM: SIGKILL`);
      this.#procs.signal(pid, "SIGKILL");
    }
    return { kind: "ended", pid, signal: "SIGKILL" };
  }

  /** Nothing to stop: the mirror process belongs to Thermos, which ends it with the task. */
  stop(): Promise<void> {
    return Promise.resolve();
  }

  get #timeoutMs(): number {
    return this.#o.stopTimeoutMs ?? 5_000;
  }

  async #gone(pid: number, startTime: string): Promise<boolean> {
    const deadline = this.#o.clock.now() + this.#timeoutMs;
    for (;;) {
      const now = await this.#procs.inspect(pid);
      if (!now || now.startTime !== startTime) return true;
      if (this.#o.clock.now() >= deadline) return false;
      await sleep(this.#o.clock, this.#o.pollMs ?? 100);
    }
  }
}
