/**
 * Runs periodic checks for many endpoints: each check gets a random phase within its
 * interval, so 2,000 endpoints checked every second fire spread over that second rather
 * than in the same millisecond, and at most `maxConcurrent` run at once (the rest queue).
 * A check still running when its next turn comes is not started twice.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";

export interface CheckJob {
  readonly intervalMs: number;
  /** One check; must settle promptly after `signal` aborts. */
  readonly run: (signal: AbortSignal) => Promise<void>;
}

export interface CheckSchedulerOptions {
  readonly clock: Clock;
  readonly maxConcurrent?: number;
  readonly random?: () => number;
}

interface Entry {
  readonly job: CheckJob;
  timer?: TimerId;
  running?: AbortController;
  queued: boolean;
  removed: boolean;
  /** When the next run is due (fixed rate from the phase). */
  due: number;
}

/**
 * @example
 * ```ts
 * const scheduler = new CheckScheduler({ clock: systemClock });
 * const remove = scheduler.add({ intervalMs: 3000, run: (signal) => check(signal) });
 * remove(); // stops the timer and aborts a running check
 * ```
 */
export class CheckScheduler {
  readonly #o: CheckSchedulerOptions;
  readonly #queue: Entry[] = [];
  #inFlight = 0;
  #maxSeen = 0;

  constructor(opts: CheckSchedulerOptions) {
    this.#o = opts;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Highest number of checks seen running at once. */
  get maxInFlight(): number {
    return this.#maxSeen;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Schedules `job`; the returned function removes it. */
  add(job: CheckJob): () => void {
    const { clock } = this.#o;
    const phase = Math.floor((this.#o.random ?? Math.random)() * job.intervalMs);
    const e: Entry = { job, queued: false, removed: false, due: clock.now() + phase };
    this.#arm(e);
    return () => {
      e.removed = true;
      if (e.timer !== undefined) clock.clearTimeout(e.timer);
      e.timer = undefined;
      e.running?.abort();
      const i = this.#queue.indexOf(e);
      if (i >= 0) this.#queue.splice(i, 1);
    };
  }

  #arm(e: Entry): void {
    const { clock } = this.#o;
    e.timer = clock.setTimeout(() => {
      e.timer = undefined;
      e.due += e.job.intervalMs;
      // Catch up without bursts if the process stalled for several intervals.
      if (e.due < clock.now()) e.due = clock.now() + e.job.intervalMs;
      if (!e.running && !e.queued) {
        e.queued = true;
        this.#queue.push(e);
        this.#drain();
      }
      if (!e.removed) this.#arm(e);
    }, Math.max(0, e.due - clock.now()));
  }

  #drain(): void {
    const max = this.#o.maxConcurrent ?? 64;
    while (this.#inFlight < max && this.#queue.length) {
      const e = this.#queue.shift()!;
      e.queued = false;
      if (e.removed) continue;
      const ac = new AbortController();
      e.running = ac;
      this.#inFlight++;
      this.#maxSeen = Math.max(this.#maxSeen, this.#inFlight);
      e.job.run(ac.signal).catch(() => {}).finally(() => {
        e.running = undefined;
        this.#inFlight--;
        this.#drain();
      });
    }
  }
}
