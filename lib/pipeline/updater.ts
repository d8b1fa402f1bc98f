/**
 * Turns "something changed" into proxy updates: any change marks the state dirty; an
 * update runs as soon as the minimum interval since the previous one allows (0 = as
 * fast as changes come), so a burst of changes becomes one update. A periodic tick
 * (`--update-period`) retries updates that asked for it (e.g. nginx was not running) and
 * runs one when the proxy drifted from what was applied (`due`).
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";

/** What an update reports back. */
export type UpdateOutcome =
  /** Done (applied, unchanged, or rejected in a way only a new change can fix). */
  | "done"
  /** Failed in a way that may pass on its own (proxy not running): retry on the next tick. */
  | "retry";

export interface UpdaterOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Seconds between retry checks (`--update-period`). */
  readonly updatePeriodSeconds: number;
  /** Minimum seconds between two updates (`--max-update-frequency`). */
  readonly minIntervalSeconds: number;
  readonly update: () => Promise<UpdateOutcome>;
  /**
   * Asked at every period tick: true runs an update even without a change (the proxy
   * drifted from what was applied, e.g. its config file was deleted).
   */
  readonly due?: () => boolean;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 *
 * const u = new Updater({
 *   clock: systemClock,
 *   logger: memoryLogger(),
 *   updatePeriodSeconds: 2,
 *   minIntervalSeconds: 10,
 *   update: () => Promise.resolve("done"),
 * });
 * u.start();
 * u.markDirty(); // a source changed: one update soon, at most one per 10 s
 * await u.stop();
 * ```
 */
export class Updater {
  readonly #o: UpdaterOptions;
  #dirty = false;
  #retry = false;
  #running?: Promise<void>;
  #timer?: TimerId;
  #tick?: TimerId;
  #lastStart = Number.NEGATIVE_INFINITY;
  #stopped = true;
  #updates = 0;

  constructor(opts: UpdaterOptions) {
    this.#o = opts;
  }

  /** Number of updates run so far. */
  get updates(): number {
    return this.#updates;
  }

  start(): void {
    this.#stopped = false;
    this.#scheduleTick();
    this.#schedule();
  }

  /** Stops timers and waits for an update in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    if (this.#tick !== undefined) this.#o.clock.clearTimeout(this.#tick);
    this.#timer = this.#tick = undefined;
    await this.#running;
  }

  /** Records that the desired proxy state may have changed. */
  markDirty(): void {
    // Step timestamps for bench/discovery's breakdown (debug level: off in production).
    this.#o.logger.debug(`trace scheduled t=${this.#o.clock.now().toFixed(2)}`);
    this.#dirty = true;
    this.#schedule();
  }

  /** True while an update is running or one is due. */
  get busy(): boolean {
    return this.#running !== undefined || (this.#dirty && this.#timer !== undefined);
  }

  #schedule(): void {
    if (this.#stopped || !this.#dirty || this.#running || this.#timer !== undefined) return;
    const wait = Math.max(
      0,
      this.#lastStart + this.#o.minIntervalSeconds * 1000 - this.#o.clock.now(),
    );
    // Even with no wait, go through a timer: changes signalled in the same turn coalesce.
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, wait);
  }

  #scheduleTick(): void {
    if (this.#stopped) return;
    this.#tick = this.#o.clock.setTimeout(() => {
      if (this.#retry || this.#o.due?.()) {
        this.#retry = false;
        this.#dirty = true;
      }
      this.#schedule();
      this.#scheduleTick();
    }, Math.max(0.01, this.#o.updatePeriodSeconds) * 1000);
  }

  #run(): void {
    if (this.#stopped || !this.#dirty) return;
    this.#dirty = false;
    this.#lastStart = this.#o.clock.now();
    this.#updates++;
    this.#o.logger.debug(`trace started ${this.#updates} t=${this.#lastStart.toFixed(2)}`);
    this.#running = (async () => {
      try {
        const outcome = await this.#o.update();
        if (outcome === "retry") this.#retry = true;
      } catch (err) {
        this.#o.logger.error("update failed", err);
        this.#retry = true;
      } finally {
        this.#running = undefined;
        this.#schedule();
      }
    })();
  }
}
