/**
 * Runs the periodic checks of many endpoints, shared by every health adjuster of a process.
 *
 * Spreading: each job gets a fixed phase within its interval and runs at the times
 * `phase + k·interval` (wall-clock aligned, fixed rate). Phases follow the golden-ratio
 * sequence from a random start, so any number of jobs, added together or one by one over
 * time, lie evenly over the interval.
 *
 * Ticks: one timer serves every job. Turns due within the same tick of `tickMs` (10 ms by
 * default) start together at the tick's end, never early and less than a tick late: 2,000
 * endpoints checked every second start ~20 at a time, 100 times a second, rather than all
 * at once or one wake-up per check (see {@linkcode DEFAULT_TICK_MS} for why).
 *
 * Bounding: at most `maxConcurrent` checks run at once; a due check waits in a FIFO queue
 * for a slot. By default the cap follows the jobs: enough slots for every job's check to
 * run until its timeout (Σ timeout/interval, what is in flight on average when every
 * endpoint hangs) plus {@linkcode MIN_SPARE_SLOTS} for the healthy ones. A fixed cap would
 * let endpoints that time out hold every slot, and healthy endpoints would be checked ever
 * more rarely: exactly when traffic depends on the checks.
 *
 * One check per job at a time: a turn that comes while the job's previous check still
 * runs (a check may last up to its interval) is not dropped but runs as soon as that check
 * ends, so a check as long as the interval still gives one result per interval.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";

/** One periodic check. */
export interface CheckJob {
  /** Milliseconds between the starts of two checks; > 0. */
  readonly intervalMs: number;
  /**
   * Longest one run can take (its timeout); sizes the default concurrency cap. Omitted:
   * runs are taken to be short.
   */
  readonly timeoutMs?: number;
  /** One check; must settle promptly once `signal` aborts. Its rejection is ignored. */
  readonly run: (signal: AbortSignal) => Promise<void>;
}

export interface CheckSchedulerOptions {
  readonly clock: Clock;
  /** A fixed number of checks allowed in flight at once; default: follows the jobs. */
  readonly maxConcurrent?: number;
  /** Source of the sequence's random start, in [0, 1); default `Math.random`. */
  readonly random?: () => number;
  /**
   * Checks due within the same tick of this many milliseconds (on a grid of the clock's
   * time) start together at the tick's end; default {@linkcode DEFAULT_TICK_MS}. 0: each
   * check at its exact time, one timer wake-up per check.
   */
  readonly tickMs?: number;
}

/**
 * Each wake-up of the process costs tens of microseconds before any check runs (more on a
 * virtual machine). 2,000 checks a second at their exact times woke it ~700 times a second;
 * in 10 ms ticks ~250, as the checks of a tick also get their answers together: 17.5 ->
 * 13.9 % of a core for the checks alone on the 2-core development VM. A check is less than
 * 10 ms late and ~20 start together: still far from 2,000 in the same millisecond.
 */
export const DEFAULT_TICK_MS = 10;

/**
 * Slots on top of those that timing-out checks may hold: quick checks need few (2,000
 * endpoints answering in 1 ms each keep about 2 in flight), and the golden-ratio spread
 * keeps bursts small.
 */
export const MIN_SPARE_SLOTS = 64;

/** 1/φ: successive multiples, taken modulo 1, are the most evenly spread sequence known. */
const GOLDEN = (Math.sqrt(5) - 1) / 2;

interface Entry {
  readonly job: CheckJob;
  /** Order of addition: ties in `due` run in that order. */
  readonly seq: number;
  running?: AbortController;
  queued: boolean;
  /** A turn came while the previous check was running: run again when it ends. */
  missed: boolean;
  removed: boolean;
  /** When the next run is due. */
  due: number;
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/** The entries by due time, earliest first (a binary heap). */
class DueHeap {
  readonly #a: Entry[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): Entry | undefined {
    return this.#a[0];
  }

  push(e: Entry): void {
    const a = this.#a;
    let i = a.push(e) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, a[parent])) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = e;
  }

  pop(): Entry | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (!a.length || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const c = l + 1 < a.length && before(a[l + 1], a[l]) ? l + 1 : l;
      if (!before(a[c], last)) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
    return top;
  }

  clear(): void {
    this.#a.length = 0;
  }
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 *
 * const scheduler = new CheckScheduler({ clock: systemClock, maxConcurrent: 64 });
 * const remove = scheduler.add({ intervalMs: 3000, run: () => Promise.resolve() });
 * remove(); // clears its timer and aborts its running check
 * ```
 */
export class CheckScheduler {
  readonly #clock: Clock;
  readonly #fixedMax?: number;
  /** Σ min(timeout, interval)/interval over the jobs: slots that hanging checks can hold. */
  #load = 0;
  readonly #offset: number;
  readonly #tickMs: number;
  /** Every job's next turn; removed jobs linger until their turn comes. */
  readonly #heap = new DueHeap();
  /** The one timer, and the time it fires at. */
  #timer?: TimerId;
  #timerAt = Infinity;
  readonly #queue: Entry[] = [];
  #added = 0;
  #inFlight = 0;
  #maxSeen = 0;
  #jobs = 0;

  constructor(opts: CheckSchedulerOptions) {
    const max = opts.maxConcurrent;
    if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
      throw new RangeError(`maxConcurrent: expected an integer >= 1, got ${max}`);
    }
    const tick = opts.tickMs ?? DEFAULT_TICK_MS;
    if (!(tick >= 0) || !Number.isFinite(tick)) {
      throw new RangeError(`tickMs: expected a finite number >= 0, got ${tick}`);
    }
    this.#tickMs = tick;
    this.#clock = opts.clock;
    this.#fixedMax = max;
    this.#offset = (opts.random ?? Math.random)();
  }

  /** Checks allowed in flight at once now (fixed, or following the jobs). */
  get maxConcurrent(): number {
    // The epsilon absorbs rounding left in the sum by jobs added and removed.
    return this.#fixedMax ?? Math.ceil(this.#load - 1e-6) + MIN_SPARE_SLOTS;
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
    if (job.timeoutMs !== undefined && !(job.timeoutMs >= 0)) {
      throw new RangeError(`timeoutMs: expected >= 0, got ${job.timeoutMs}`);
    }
    const load = Math.min(job.timeoutMs ?? 0, job.intervalMs) / job.intervalMs;
    const now = this.#clock.now();
    const phase = this.#nextPhase(job.intervalMs);
    // Align to the wall clock so jobs added at different times still interleave.
    const sinceAligned = ((now - phase) % job.intervalMs + job.intervalMs) % job.intervalMs;
    const due = sinceAligned === 0 ? now : now + job.intervalMs - sinceAligned;
    const e: Entry = { job, seq: this.#added, queued: false, missed: false, removed: false, due };
    this.#jobs++;
    this.#load += load;
    this.#heap.push(e);
    this.#arm();
    this.#drain(); // the cap may have grown
    return () => {
      if (e.removed) return;
      e.removed = true;
      this.#jobs--;
      this.#load = this.#jobs ? this.#load - load : 0;
      if (!this.#jobs) {
        this.#heap.clear();
        this.#arm();
      }
      if (e.queued) {
        this.#queue.splice(this.#queue.indexOf(e), 1);
        e.queued = false;
      }
      e.running?.abort();
    };
  }

  /** Sets the timer for the tick of the earliest turn, or clears it when there is none. */
  #arm(): void {
    const clock = this.#clock;
    const next = this.#heap.peek();
    const at = next === undefined
      ? Infinity
      : this.#tickMs > 0
      ? Math.ceil(next.due / this.#tickMs) * this.#tickMs
      : next.due;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = clock.setTimeout(() => this.#fire(), Math.max(0, at - clock.now()));
  }

  /** Starts (or queues) every turn that is due, then waits for the next tick. */
  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const due: Entry[] = [];
    for (let e = this.#heap.peek(); e !== undefined && e.due <= now; e = this.#heap.peek()) {
      this.#heap.pop();
      if (e.removed) continue;
      const interval = e.job.intervalMs;
      e.due += interval;
      // After a stall (suspended process, blocked loop) skip the missed turns, no burst.
      if (e.due <= now) e.due += (Math.floor((now - e.due) / interval) + 1) * interval;
      this.#heap.push(e);
      due.push(e);
    }
    this.#arm();
    for (const e of due) {
      if (e.running) e.missed = true;
      else this.#enqueue(e);
    }
  }

  /** Queues `e` unless it is queued already (a queued turn covers this one too). */
  #enqueue(e: Entry): void {
    if (e.queued) return;
    e.queued = true;
    this.#queue.push(e);
    this.#drain();
  }

  #drain(): void {
    const max = this.maxConcurrent;
    while (this.#inFlight < max && this.#queue.length) {
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
        if (e.missed && !e.removed) {
          e.missed = false;
          this.#enqueue(e);
        } else this.#drain();
      });
    }
  }
}
