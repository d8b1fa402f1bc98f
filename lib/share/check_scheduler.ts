/**
 * Runs the periodic checks of many endpoints, shared by every health adjuster of a process.
 *
 * Spreading: each job gets a fixed phase within its interval and runs at the times
 * `phase + k·interval` (wall-clock aligned, fixed rate). Phases follow the golden-ratio
 * sequence from a random start, so any number of jobs, added together or one by one over
 * time, lie evenly over the interval: 2,000 endpoints checked every second fire about two
 * per millisecond rather than in bursts, and never all in the same millisecond.
 *
 * Bounding: at most `maxConcurrent` checks run at once; a due check waits in a FIFO queue
 * for a slot. A check still running (or queued) when its next turn comes is skipped, so a
 * slow endpoint never has two checks in flight.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";

/** One periodic check. */
export interface CheckJob {
  /** Milliseconds between the starts of two checks; > 0. */
  readonly intervalMs: number;
  /** One check; must settle promptly once `signal` aborts. Its rejection is ignored. */
  readonly run: (signal: AbortSignal) => Promise<void>;
}

export interface CheckSchedulerOptions {
  readonly clock: Clock;
  /** Checks allowed in flight at once; default {@linkcode DEFAULT_MAX_CONCURRENT}. */
  readonly maxConcurrent?: number;
  /** Source of the sequence's random start, in [0, 1); default `Math.random`. */
  readonly random?: () => number;
}

/** Enough to keep up with thousands of endpoints, few enough not to flood a network. */
export const DEFAULT_MAX_CONCURRENT = 64;

/** 1/φ: successive multiples, taken modulo 1, are the most evenly spread sequence known. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

interface Entry {
  readonly job: CheckJob;
  timer?: TimerId;
  running?: AbortController;
  queued: boolean;
  removed: boolean;
  /** When the next run is due. */
  due: number;
}

/**
 * @example
 * ```ts
 * const scheduler = new CheckScheduler({ clock: systemClock, maxConcurrent: 64 });
 * const remove = scheduler.add({ intervalMs: 3000, run: (signal) => check(signal) });
 * remove(); // clears its timer and aborts its running check
 * ```
 */
export class CheckScheduler {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #offset: number;
  readonly #queue: Entry[] = [];
  #added = 0;
  #inFlight = 0;
  #maxSeen = 0;
  #jobs = 0;

  constructor(opts: CheckSchedulerOptions) {
    const max = opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`maxConcurrent: expected an integer >= 1, got ${max}`);
    }
    this.#clock = opts.clock;
    this.#max = max;
    this.#offset = (opts.random ?? Math.random)();
  }

  /** Checks running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Highest number of checks seen running at once. */
  get maxInFlight(): number {
    return this.#maxSeen;
  }

  /** Checks due but waiting for a free slot. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Jobs currently scheduled. */
  get size(): number {
    return this.#jobs;
  }

  /** The phase (ms within the interval) of the next added job. */
  #nextPhase(intervalMs: number): number {
    const fraction = (this.#offset + this.#added++ * GOLDEN) % 1;
    return fraction * intervalMs;
  }

  /**
   * Schedules `job`: first run at its phase within the current interval (possibly now),
   * then every `intervalMs`. Returns a function that removes it: clears its timer,
   * drops it from the queue and aborts its running check. Removing twice is harmless.
   */
  add(job: CheckJob): () => void {
    if (!(job.intervalMs > 0)) {
      throw new RangeError(`intervalMs: expected > 0, got ${job.intervalMs}`);
    }
    const now = this.#clock.now();
    const phase = this.#nextPhase(job.intervalMs);
    // Align to the wall clock so jobs added at different times still interleave.
    const sinceAligned = ((now - phase) % job.intervalMs + job.intervalMs) % job.intervalMs;
    const due = sinceAligned === 0 ? now : now + job.intervalMs - sinceAligned;
    const e: Entry = { job, queued: false, removed: false, due };
    this.#jobs++;
    this.#arm(e);
    return () => {
      if (e.removed) return;
      e.removed = true;
      this.#jobs--;
      if (e.timer !== undefined) this.#clock.clearTimeout(e.timer);
      e.timer = undefined;
      if (e.queued) {
        this.#queue.splice(this.#queue.indexOf(e), 1);
        e.queued = false;
      }
      e.running?.abort();
    };
  }

  #arm(e: Entry): void {
    const clock = this.#clock;
    e.timer = clock.setTimeout(() => {
      e.timer = undefined;
      if (e.removed) return;
      e.due += e.job.intervalMs;
      const now = clock.now();
      // After a stall (suspended process, blocked loop) skip the missed turns, no burst.
      if (e.due <= now) {
        e.due += (Math.floor((now - e.due) / e.job.intervalMs) + 1) * e.job.intervalMs;
      }
      this.#arm(e);
      if (!e.running && !e.queued) {
        e.queued = true;
        this.#queue.push(e);
        this.#drain();
      }
    }, Math.max(0, e.due - clock.now()));
  }

  #drain(): void {
    while (this.#inFlight < this.#max && this.#queue.length) {
      const e = this.#queue.shift()!;
      e.queued = false;
      const ac = new AbortController();
      e.running = ac;
      this.#inFlight++;
      this.#maxSeen = Math.max(this.#maxSeen, this.#inFlight);
      let run: Promise<void>;
      try {
        run = e.job.run(ac.signal);
      } catch (err) {
        run = Promise.reject(err);
      }
      run.catch(() => {}).finally(() => {
        e.running = undefined;
        this.#inFlight--;
        this.#drain();
      });
    }
  }
}
