/**
 * nginx as aurproxy's own child (`run --supervise`): `nginx -c FILE [-p PREFIX]` in the
 * foreground (the rendered config says `daemon off;`) as a `SupervisedProxy`
 * (`../supervised_process.ts`), whose Supervisor forwards its stderr into aurproxy's log, restarts it with backoff when it dies, and stops
 * it with SIGQUIT (graceful: workers finish their requests) and SIGKILL to its whole
 * process group after the deadline. A restarted nginx reads the live file, which is always
 * the last config aurproxy validated and swapped in: it serves the current config.
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
import type { NginxBinary } from "./binary.ts";
import type { NginxOptions } from "./options.ts";
import { workerShutdownTimeoutMsOf } from "./config_text.ts";
import { childrenOf, type ProcInfo, readProc } from "./process.ts";
import { inspectMaster } from "./master.ts";
import type { OwnMaster } from "./watch.ts";

/**
 * When the config sets no `worker_shutdown_timeout` (nginx would then wait for every
 * request, however long), a stopping nginx is killed this long after SIGQUIT.
 */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** After `worker_shutdown_timeout`, workers close what is left and exit: a little slack. */
const STOP_MARGIN_MS = 2_000;
const MASTER_TITLE = "nginx: master process";

/** What {@linkcode OwnNginx} is built with. */
export interface OwnNginxOptions {
  readonly binary: NginxBinary;
  readonly options: Pick<NginxOptions, "configurationFile" | "prefix">;
  readonly logger: Logger;
  /** SIGKILL to the group this long after SIGQUIT (worker_shutdown_timeout plus a margin). */
  readonly stopTimeoutMs: number;
  readonly backoff?: Partial<BackoffPolicy>;
  readonly clock?: Clock;
}

/** nginx's `[emerg]`, `[alert]`, `[crit]`, `[error]` lines are errors, `[warn]` warnings. */
function levelOf(line: string): Level {
  if (/\[(emerg|alert|crit|error)\]/.test(line)) return "error";
  return /\[warn\]/.test(line) ? "warn" : "info";
}

/**
 * How long a stopping nginx running `configText` gets between SIGQUIT and SIGKILL: its
 * `worker_shutdown_timeout` plus a margin, or {@linkcode DEFAULT_STOP_TIMEOUT_MS}.
 *
 * @example
 * ```ts
 * stopDeadlineMs("worker_shutdown_timeout 10s;\n"); // 12000
 * stopDeadlineMs("events {}\n"); // 30000
 * ```
 */
export function stopDeadlineMs(configText: string): number {
  const wst = workerShutdownTimeoutMsOf(configText);
  return wst === undefined ? DEFAULT_STOP_TIMEOUT_MS : wst + STOP_MARGIN_MS;
}

/**
 * Why nginx cannot be supervised on `configText`, or undefined: `daemon on;` (from the
 * config's context) would have nginx fork into the background and leave its process
 * group, so the supervisor would see it "exit" at once and lose it.
 */
export function whyNotSupervisable(configText: string, file: string): string | undefined {
  if (!/^daemon\s+on\s*;/m.test(configText)) return undefined;
  return `${file} says "daemon on;": a supervised nginx must stay in the foreground ` +
    `(remove "daemon" from the config's context)`;
}

/** The command line of the supervised nginx. */
export function ownNginxArgv(
  binary: Pick<NginxBinary, "path">,
  o: Pick<NginxOptions, "configurationFile" | "prefix">,
): string[] {
  return [binary.path, "-c", o.configurationFile, ...(o.prefix ? ["-p", o.prefix] : [])];
}

/**
 * Starts nginx on the live file (which the first apply wrote) as aurproxy's child and
 * resolves once a worker accepts, with the text it runs; rejects when the file cannot be
 * supervised or nginx does not start.
 */
export async function startOwnNginx(
  binary: NginxBinary,
  options: Pick<NginxOptions, "configurationFile" | "prefix" | "pidPath">,
  logger: Logger,
): Promise<{ readonly own: OwnNginx; readonly text: string }> {
  const file = options.configurationFile;
  const text = await Deno.readTextFile(file);
  const why = whyNotSupervisable(text, file) ?? whyStillServed(binary, options);
  if (why !== undefined) throw new Error(why);
  const own = new OwnNginx({ binary, options, logger, stopTimeoutMs: stopDeadlineMs(text) });
  await own.start();
  return { own, text };
}

/**
 * An nginx left running on our file by an aurproxy killed with SIGKILL. With `reuseport`
 * (the default) a new nginx binds the same ports beside it and the kernel splits the
 * connections between them, the orphan serving a config nobody updates: refuse instead.
 */
function whyStillServed(
  binary: NginxBinary,
  options: Pick<NginxOptions, "configurationFile" | "pidPath">,
): string | undefined {
  const check = inspectMaster(options.pidPath, options.configurationFile, binary);
  if (check.kind !== "ours") return undefined;
  const pid = check.proc.pid;
  return `an nginx (pid ${pid}, from ${options.pidPath}) already runs ` +
    `${options.configurationFile}, left by an earlier aurproxy: a second one would share its ` +
    `ports and it would go on serving a config nobody updates; stop it (kill -QUIT ${pid}) ` +
    `and start aurproxy again`;
}

/**
 * @example
 * ```ts ignore
 * import { resolveNginx } from "./binary.ts";
 * import { consoleLogger } from "../../log.ts";
 * const nginx = new OwnNginx({
 *   binary: resolveNginx("nginx"),
 *   options: { configurationFile: "/etc/aurproxy/nginx/nginx.conf" },
 *   logger: consoleLogger(),
 *   stopTimeoutMs: 32_000,
 * });
 * await nginx.start(); // resolves once a worker accepts
 * nginx.hangUp(); // reload
 * await nginx.stop(32_000);
 * ```
 */
export class OwnNginx implements OwnMaster {
  readonly supervisor: Supervisor;
  readonly #proc: SupervisedProxy;
  readonly #clock?: Clock;
  readonly #log: Logger;

  constructor(o: OwnNginxOptions) {
    this.#clock = o.clock;
    this.#log = o.logger;
    this.#proc = new SupervisedProxy({
      proxy: "nginx",
      argv: ownNginxArgv(o.binary, o.options),
      logger: o.logger,
      clock: o.clock,
      stopSignal: "SIGQUIT",
      stopTimeoutMs: o.stopTimeoutMs,
      backoff: o.backoff,
      // The access log (`access_log /dev/stdout` by default) goes where aurproxy's stdout goes:
      // the container's or task's output, as when nginx ran on its own.
      stdout: "inherit",
      levelOf,
      accepting: () => this.#up(),
      notAccepting: "accepted no connection",
    });
    this.supervisor = this.#proc.supervisor;
  }

  /** The running master's pid (undefined while restarting or stopped). */
  pid(): number | undefined {
    const s = this.supervisor.status();
    return s.state === "stopped" || s.state === "backing_off" ? undefined : s.pid;
  }

  /** Why no nginx runs now. */
  whyDown(): string {
    const s = this.supervisor.status();
    if (s.state === "backing_off" && s.lastExit) {
      return `aurproxy's nginx child ${describeExit(s.lastExit)}`;
    }
    return s.state === "stopping" ? "aurproxy is stopping it" : "aurproxy has not started it";
  }

  /**
   * Starts nginx and resolves once a worker accepts connections; rejects (and stops the
   * supervisor: no retry) when nginx exits or cannot be spawned first, with what nginx
   * said on stderr.
   */
  start(): Promise<void> {
    return this.#proc.start();
  }

  /**
   * Why this nginx cannot serve a backend that would run `argv` (another file, prefix or
   * binary), or undefined when it can.
   */
  whyNotFor(argv: readonly string[]): string | undefined {
    const runs = this.supervisor.status().argv.join(" ");
    const would = argv.join(" ");
    if (runs === would) return undefined;
    return `nginx runs "${runs}", the new config would need "${would}": ` +
      `configuration_file, nginx_prefix and nginx_binary cannot change while aurproxy ` +
      `supervises nginx (restart aurproxy)`;
  }

  /**
   * SIGHUP to the child, once it shows it installed its handlers (nginx retitles itself
   * "nginx: master process" after that; before, SIGHUP would kill it). False when no
   * child runs or it is not that far yet: the reload is then retried.
   */
  hangUp(): boolean {
    return this.ready() && this.supervisor.signal("SIGHUP");
  }

  /** True once the child runs as an nginx master (its signal handlers installed). */
  ready(): boolean {
    return !!this.#master()?.title.startsWith(MASTER_TITLE);
  }

  /**
   * SIGQUIT, then SIGKILL to the group `deadlineMs` later (at the latest: the supervisor's
   * own deadline); resolves once nginx and every worker are gone.
   */
  async stop(deadlineMs?: number): Promise<void> {
    const pid = this.supervisor.status().pid;
    if (pid !== undefined) {
      const bound = deadlineMs === undefined
        ? ""
        : `; SIGKILL to its group after ${deadlineMs / 1000} s`;
      this.#log.info(`stopping nginx (pid ${pid}) gracefully: SIGQUIT${bound}`);
    }
    await this.#proc.stop(deadlineMs);
  }

  /** The child's state for /health and the status page. */
  status(): ProxyProcessStatus {
    const s = this.supervisor.status();
    const restarts = s.restarts;
    switch (s.state) {
      case "starting":
      case "running": {
        if (this.#up()) return { state: "running", pid: s.pid, restarts, detail: `pid ${s.pid}` };
        return {
          state: "starting",
          pid: s.pid,
          restarts,
          detail: `pid ${s.pid} started, no worker accepting yet`,
        };
      }
      case "backing_off": {
        const now = this.#clock?.now() ?? Date.now();
        const inS = Math.max(0, Math.round(((s.nextStartAt ?? now) - now) / 100) / 10);
        const exit = s.lastExit ? describeExit({ ...s.lastExit, restartInMs: undefined }) : "";
        return {
          state: "restarting",
          restarts,
          detail: `${exit}; backing off: ${s.failures} failure(s) in a row, next start in ` +
            `${inS} s`,
        };
      }
      case "stopping":
      case "stopped":
        return { state: "stopped", restarts, detail: s.state };
    }
  }

  #master(): ProcInfo | undefined {
    const pid = this.pid();
    return pid === undefined ? undefined : readProc(pid);
  }

  #up(): boolean {
    const proc = this.#master();
    return !!proc?.title.startsWith(MASTER_TITLE) &&
      childrenOf(proc).some((c) => c.role === "worker");
  }
}
