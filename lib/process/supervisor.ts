/**
 * Keeps one child process running: starts it with `Deno.Command`, forwards its output
 * into aurproxy's log, restarts it with backoff when it dies, signals it on request and
 * stops it gracefully (stop signal, then SIGKILL to its whole process group after a
 * deadline). nginx in the foreground and gor are run this way.
 *
 * The child leads its own process group, so everything it forked goes with it: when the
 * child exits (asked to or not) any process left in its group is killed, so a restart
 * never races leftover workers for ports and a stop leaves no orphans. A child that
 * daemonizes (leaves the group) escapes this; run children in the foreground.
 *
 * @example Run nginx in the foreground, reload it, stop it gracefully
 * ```ts
 * import { Supervisor } from "./supervisor.ts";
 * import { consoleLogger } from "../log.ts";
 *
 * const nginx = new Supervisor({
 *   name: "nginx",
 *   argv: ["nginx", "-g", "daemon off;", "-c", "/etc/aurproxy/nginx.conf"],
 *   logger: consoleLogger(),
 *   stopSignal: "SIGQUIT", // let workers finish their requests
 *   stopTimeoutMs: 30_000,
 *   lineLevel: (line) => /\[(emerg|alert|crit|error)\]/.test(line) ? "error" : "info",
 * });
 * nginx.subscribe((e) => {
 *   if (e.kind === "exited" && !e.exit.requested) console.log("nginx died; restarting");
 * });
 * nginx.start();
 * // … once nginx is up (it listens): a signal sent before it installed its handlers
 * // would kill it instead.
 * nginx.signal("SIGHUP"); // reload: our own child, no pid file needed
 * await nginx.stop();
 * ```
 *
 * @example Run gor, with a new command line on every change
 * ```ts
 * import { Supervisor } from "./supervisor.ts";
 * import { consoleLogger } from "../log.ts";
 *
 * const gor = new Supervisor({
 *   name: "gor",
 *   argv: ["gor", "--input-raw", ":80", "--output-http", "http://mirror-a:80"],
 *   logger: consoleLogger(),
 *   stdout: "log",
 * });
 * gor.start();
 * // The mirror targets changed: stop the old gor, start one with the new targets.
 * await gor.restart({ argv: ["gor", "--input-raw", ":80", "--output-http", "http://mirror-b:80"] });
 * await gor.stop();
 * ```
 *
 * @module
 */

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF, nextFailureCount } from "./backoff.ts";
import { type ChildExit, describeExit } from "./exit.ts";
import { signalGroup } from "./group.ts";
import { type ChildProcessHandle, spawnChild } from "./spawn.ts";
import type {
  ProcessSpec,
  SupervisorEvent,
  SupervisorOptions,
  SupervisorState,
  SupervisorStatus,
} from "./options.ts";

export type {
  OutputMode,
  OutputStream,
  ProcessSpec,
  SupervisorEvent,
  SupervisorOptions,
  SupervisorState,
  SupervisorStatus,
} from "./options.ts";
export type { ChildExit } from "./exit.ts";
export type { BackoffPolicy } from "./backoff.ts";

const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const DEFAULT_STARTING_MS = 1_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 1_000;

/** The running child and what the supervisor tracks about it. */
interface Current {
  readonly handle: ChildProcessHandle;
  readonly startedAt: number;
  /** Set once the child was asked to exit; its exit is then not a failure. */
  stopRequested: boolean;
  deadline?: TimerId;
  /** Resolves when the exit has been reported and the next step taken. */
  readonly done: Promise<ChildExit>;
}

/** Keeps one child process running; see the module doc for examples. */
export class Supervisor {
  /** The child's name, as in its log lines. */
  readonly name: string;
  readonly #opts: SupervisorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backoff: BackoffPolicy;
  #spec: ProcessSpec;
  /** Whether the owner wants a child running: start/restart set it, stop clears it. */
  #wanted = false;
  #current?: Current;
  #retry?: { timer: TimerId; at: number };
  #failures = 0;
  #restarts = 0;
  #lastExit?: ChildExit;
  readonly #listeners = new Set<(e: SupervisorEvent) => void>();

  constructor(options: SupervisorOptions) {
    if (options.argv.length === 0) throw new TypeError(`${options.name}: empty argv`);
    this.name = options.name;
    this.#opts = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child(options.name);
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#spec = specOf(options);
  }

  /**
   * Starts the child (and keeps it running) if it is not already. Returns at once; a
   * binary that cannot be started is reported as an exit and retried with backoff.
   */
  start(): void {
    this.#wanted = true;
    // A stopping child is started again by its exit handler, now that it is wanted.
    if (this.#current || this.#retry) return;
    this.#failures = 0;
    this.#launch();
  }

  /**
   * Stops the child: sends the stop signal, and SIGKILL to its process group if it has
   * not exited within `stopTimeoutMs`; cancels a pending restart. Resolves with the exit
   * (undefined when no child was running) once the child is gone and reported.
   */
  stop(): Promise<ChildExit | undefined> {
    this.#wanted = false;
    this.#cancelRetry();
    return this.#current ? this.#terminate(this.#current) : Promise.resolve(undefined);
  }

  /**
   * Replaces the command line (when `spec` is given) and replaces the running child: the
   * old one is stopped as by {@linkcode stop}, the new one started at once, without
   * backoff. Starts the child if none was running. Resolves once the new child was
   * started (or its start failed and was scheduled for a retry).
   */
  async restart(spec?: ProcessSpec): Promise<void> {
    if (spec) {
      if (spec.argv.length === 0) throw new TypeError(`${this.name}: empty argv`);
      this.#spec = spec;
    }
    this.#wanted = true;
    this.#failures = 0;
    this.#cancelRetry();
    if (this.#current) await this.#terminate(this.#current);
    else this.#launch();
  }

  /**
   * Sends `signal` to the child itself (not its group): SIGHUP for an nginx reload.
   * Returns false when no child is running (backing off, stopped, or it just exited).
   * A child only just spawned may not have installed its handlers yet, and SIGHUP's
   * default action is to terminate: signal once the child shows it is up (nginx: it
   * accepts connections), or the "reload" is a crash and a restart.
   */
  signal(signal: Deno.Signal): boolean {
    const cur = this.#current;
    if (!cur) return false;
    return cur.handle.kill(signal);
  }

  /** Where the supervisor stands, as plain data. */
  status(): SupervisorStatus {
    const cur = this.#current;
    let state: SupervisorState = "stopped";
    if (cur) {
      const up = this.#clock.now() - cur.startedAt;
      state = cur.stopRequested
        ? "stopping"
        : up < (this.#opts.startingMs ?? DEFAULT_STARTING_MS)
        ? "starting"
        : "running";
    } else if (this.#retry) state = "backing_off";
    return {
      name: this.name,
      state,
      argv: this.#spec.argv,
      pid: cur?.handle.pid,
      startedAt: cur?.startedAt,
      restarts: this.#restarts,
      failures: this.#failures,
      nextStartAt: this.#retry?.at,
      lastExit: this.#lastExit,
    };
  }

  /** Calls `fn` on every start and every exit (including failed starts). */
  subscribe(fn: (event: SupervisorEvent) => void): Unsubscribe {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #launch(): void {
    const startedAt = this.#clock.now();
    let handle: ChildProcessHandle;
    try {
      handle = spawnChild(this.#spec, this.#opts, this.#log);
    } catch (err) {
      this.#exited({
        name: this.name,
        code: null,
        signal: null,
        uptimeMs: 0,
        at: startedAt,
        requested: false,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    let resolveDone!: (exit: ChildExit) => void;
    const done = new Promise<ChildExit>((r) => resolveDone = r);
    const cur: Current = { handle, startedAt, stopRequested: false, done };
    this.#current = cur;
    this.#log.info(`started pid ${handle.pid}: ${this.#spec.argv.join(" ")}`);
    this.#emit({
      kind: "started",
      name: this.name,
      pid: handle.pid,
      argv: this.#spec.argv,
      at: startedAt,
    });
    this.#watch(cur).then(resolveDone);
  }

  async #watch(cur: Current): Promise<ChildExit> {
    const status = await cur.handle.status;
    // Workers or background jobs the child left behind would hold its ports and pipes.
    this.#killGroup(cur.handle.pid);
    await this.#drain(cur.handle);
    if (cur.deadline !== undefined) this.#clock.clearTimeout(cur.deadline);
    this.#current = undefined;
    const now = this.#clock.now();
    return this.#exited({
      name: this.name,
      pid: cur.handle.pid,
      code: status.code,
      signal: status.signal,
      uptimeMs: now - cur.startedAt,
      at: now,
      requested: cur.stopRequested,
    });
  }

  /** Reports an exit (or failed start) and takes the next step: retry, relaunch or rest. */
  #exited(base: ChildExit): ChildExit {
    let exit = base;
    if (!base.requested && this.#wanted) {
      this.#failures = nextFailureCount(this.#backoff, this.#failures, base.uptimeMs);
      exit = { ...base, restartInMs: backoffDelay(this.#backoff, this.#failures) };
    }
    this.#lastExit = exit;
    if (exit.requested) this.#log.info(describeExit(exit));
    else this.#log.warn(describeExit(exit));
    this.#emit({ kind: "exited", exit });
    if (exit.restartInMs !== undefined) this.#scheduleRetry(exit.restartInMs);
    else if (this.#wanted && !this.#current && !this.#retry) this.#launch();
    return exit;
  }

  #scheduleRetry(ms: number): void {
    const timer = this.#clock.setTimeout(() => {
      this.#retry = undefined;
      this.#restarts++;
      this.#launch();
    }, ms);
    this.#retry = { timer, at: this.#clock.now() + ms };
  }

  #cancelRetry(): void {
    if (!this.#retry) return;
    this.#clock.clearTimeout(this.#retry.timer);
    this.#retry = undefined;
  }

  #terminate(cur: Current): Promise<ChildExit> {
    if (cur.stopRequested) return cur.done;
    cur.stopRequested = true;
    const sig = this.#opts.stopSignal ?? "SIGTERM";
    const ms = this.#opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    this.#log.info(`stopping pid ${cur.handle.pid} with ${sig}`);
    cur.handle.kill(sig);
    cur.deadline = this.#clock.setTimeout(() => {
      this.#log.warn(`pid ${cur.handle.pid} still running ${ms} ms after ${sig}; SIGKILL`);
      this.#killGroup(cur.handle.pid);
    }, ms);
    return cur.done;
  }

  #killGroup(pid: number): void {
    try {
      signalGroup(pid, "SIGKILL");
    } catch (err) {
      // Not ours to kill (EPERM): nothing more the supervisor can do; say so.
      this.#log.warn(`could not kill process group ${pid}`, err);
    }
  }

  /** Waits (bounded) for the output the child wrote before it exited to be logged. */
  async #drain(handle: ChildProcessHandle): Promise<void> {
    let timer: TimerId | undefined;
    const bound = new Promise<"timeout">((resolve) => {
      timer = this.#clock.setTimeout(
        () => resolve("timeout"),
        this.#opts.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
      );
    });
    const outcome = await Promise.race([handle.output, bound]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    if (outcome === "timeout") {
      this.#log.warn(`pid ${handle.pid}: output still open after exit; no longer read`);
      handle.stopReading();
      await handle.output;
    }
  }

  #emit(event: SupervisorEvent): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn(event);
      } catch (err) {
        this.#log.error("supervisor listener failed", err);
      }
    }
  }
}

function specOf(o: ProcessSpec): ProcessSpec {
  return { argv: o.argv, env: o.env, clearEnv: o.clearEnv, cwd: o.cwd };
}
