/**
 * Keeps gor's launch script in step with the mirror targets: on a change (at most once
 * per `minIntervalMs`, on the injected clock) it renders the script, writes it
 * atomically, and has a {@linkcode MirrorRunner} make the running gor use it: by ending
 * the process in the pid file (Thermos restarts it) or by restarting aurproxy's own
 * supervised child.
 *
 * A burst of changes inside the interval is one update, with the targets of its end. A
 * failed update (disk full, a directory that cannot be created) is retried one interval
 * later (at least 1 s), and reported as degraded health until one succeeds.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { StaticSource } from "../sources/static.ts";
 * import { PidFileRestarter } from "./pid_file_restarter.ts";
 *
 * const dir = await Deno.makeTempDir(); // stands for /etc/aurproxy/gor and /tmp
 * const logger = memoryLogger();
 * const spec = { mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: `${dir}/mirror_pid`, ports: [8080], maxQps: 100 } as const;
 * const updater = new MirrorUpdater({
 *   spec,
 *   commandPath: `${dir}/dynamic.sh`,
 *   minIntervalMs: 15_000,
 *   targets: new StaticSource({ name: "shadow", host: "10.0.0.1", port: 9000 }), // any Source
 *   runner: new PidFileRestarter({ ...spec, commandPath: `${dir}/dynamic.sh`, logger, clock: systemClock }),
 *   clock: systemClock,
 *   logger,
 * });
 * await updater.start(); // first script written now; later ones on changes
 * updater.status().command?.kind; // "gor"
 * await updater.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthCheckResult } from "../model/health.ts";
import {
  type GorScriptSpec,
  type GorTarget,
  type MirrorCommand,
  mirrorCommand,
} from "./gor_script.ts";
import { type ScriptWriter, writeScriptAtomically } from "./script_writer.ts";

/** Where the targets come from: a {@linkcode Source} fits as it is. */
export interface MirrorTargets {
  endpoints(): readonly GorTarget[];
  /** Calls `fn` whenever `endpoints()` may have changed. */
  onChange(fn: () => void): Unsubscribe;
}

/** Makes the running mirror process use a freshly written script. */
export interface MirrorRunner {
  /**
   * Called after every successful write; `changed` is false when the file already held
   * this script. Throwing makes the update count as failed (and retried).
   */
  apply(want: MirrorCommand, changed: boolean): Promise<unknown>;
  /** Called once when the mirror stops. */
  stop(): Promise<void>;
}

export interface MirrorUpdaterOptions {
  readonly spec: GorScriptSpec;
  /** The launch script (`--mirror-command-path`). */
  readonly commandPath: string;
  /** Minimum time between two updates (`--mirror-max-update-frequency`, in ms). */
  readonly minIntervalMs: number;
  readonly targets: MirrorTargets;
  /** Absent for `--setup`: the script is written and nothing is ended. */
  readonly runner?: MirrorRunner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  readonly writeScript?: ScriptWriter;
}

/** Where the updater stands, as plain data (status page, tests). */
export interface MirrorUpdaterStatus {
  readonly updates: number;
  /** Failed updates in a row. */
  readonly failures: number;
  readonly lastUpdateAt?: number;
  readonly lastError?: string;
  /** What the script runs since the last successful update. */
  readonly command?: MirrorCommand;
  /** A change waits for the interval to pass. */
  readonly pending: boolean;
}

const RETRY_FLOOR_MS = 1_000;

/** See the module doc. */
export class MirrorUpdater {
  readonly #o: MirrorUpdaterOptions;
  readonly #write: ScriptWriter;
  #dirty = false;
  #lastRunAt = -Infinity;
  #timer?: TimerId;
  #running?: Promise<void>;
  #unsubscribe?: Unsubscribe;
  #stopped = false;
  #updates = 0;
  #failures = 0;
  #lastError?: string;
  #command?: MirrorCommand;

  constructor(options: MirrorUpdaterOptions) {
    this.#o = options;
    this.#write = options.writeScript ?? writeScriptAtomically;
    options.metrics?.declareCounter("mirror_updates_total", UPDATES_HELP, { result: "ok" });
    options.metrics?.declareCounter("mirror_updates_total", UPDATES_HELP, { result: "failed" });
  }

  /**
   * `--setup`: writes the script for the current targets once and ends nothing. Throws
   * when the script cannot be written.
   */
  async setup(): Promise<MirrorCommand> {
    const want = this.#render();
    const result = await this.#write(this.#o.commandPath, want.script);
    this.#o.logger.info(`${result} ${this.#o.commandPath}: ${describe(want)}`);
    this.#command = want;
    return want;
  }

  /**
   * Writes the script for the current targets now and applies it, then follows changes.
   * A failure of this first update is logged and retried like any other.
   */
  async start(): Promise<void> {
    this.#unsubscribe ??= this.#o.targets.onChange(() => {
      this.#dirty = true;
      this.#schedule();
    });
    this.#dirty = true;
    await this.#update();
  }

  /** Stops following changes; waits for an update under way. Does not stop the runner. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Resolves once no update is under way (a fake clock fires the timer; I/O takes longer). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  status(): MirrorUpdaterStatus {
    return {
      updates: this.#updates,
      failures: this.#failures,
      lastUpdateAt: Number.isFinite(this.#lastRunAt) ? this.#lastRunAt : undefined,
      lastError: this.#lastError,
      command: this.#command,
      pending: this.#dirty,
    };
  }

  /** Degraded while updates fail: the mirror is stale, the proxy itself is fine. */
  health(): HealthCheckResult {
    if (this.#failures === 0) return { level: "ok", lines: [] };
    return {
      level: "degraded",
      lines: [`mirror: ${this.#failures} update(s) failed in a row: ${this.#lastError}`],
    };
  }

  #render(): MirrorCommand {
    const targets = this.#o.targets.endpoints();
    this.#o.metrics?.set("mirror_targets", "Endpoints gor mirrors or replays to.", targets.length);
    return mirrorCommand(this.#o.spec, targets);
  }

  #schedule(): void {
    if (this.#stopped || this.#timer !== undefined || this.#running || !this.#dirty) return;
    const interval = this.#failures > 0
      ? Math.max(this.#o.minIntervalMs, RETRY_FLOOR_MS)
      : this.#o.minIntervalMs;
    const delay = Math.max(0, this.#lastRunAt + interval - this.#o.clock.now());
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#update();
    }, delay);
  }

  #update(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#apply().finally(() => {
      this.#running = undefined;
      this.#schedule();
    });
    return this.#running;
  }

  async #apply(): Promise<void> {
    if (this.#stopped) return;
    this.#dirty = false;
    this.#lastRunAt = this.#o.clock.now();
    const log = this.#o.logger;
    try {
      const want = this.#render();
      const result = await this.#write(this.#o.commandPath, want.script);
      if (result === "written") log.info(`wrote ${this.#o.commandPath}: ${describe(want)}`);
      else log.debug(`${this.#o.commandPath} unchanged: ${describe(want)}`);
      await this.#o.runner?.apply(want, result === "written");
      this.#command = want;
      this.#updates++;
      this.#failures = 0;
      this.#lastError = undefined;
      this.#o.metrics?.inc("mirror_updates_total", UPDATES_HELP, { result: "ok" });
    } catch (err) {
      this.#dirty = true;
      this.#failures++;
      this.#lastError = err instanceof Error ? err.message : String(err);
      this.#o.metrics?.inc("mirror_updates_total", UPDATES_HELP, { result: "failed" });
      log.error(`mirror update failed (retrying); ${this.#o.commandPath}`, err);
    }
  }
}

const UPDATES_HELP = "Updates of gor's launch script, by result.";

function describe(c: MirrorCommand): string {
  return c.kind === "gor" ? c.argv.join(" ") : "placeholder (no mirror targets)";
}
