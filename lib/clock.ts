/**
 * Time as a collaborator: production code takes a {@linkcode Clock} so unit tests can
 * drive timers deterministically (see `testing/fake_clock.ts`) while integration
 * tests use {@linkcode systemClock}.
 *
 * @module
 */

/** Opaque handle returned by {@linkcode Clock.setTimeout}. */
export type TimerId = ReturnType<typeof setTimeout>;

/** The subset of time functions aurproxy uses. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/**
 * The real clock: milliseconds since the epoch as of process start, advanced by the
 * monotonic timer. A wall-clock step (NTP, an operator's `date`) must not stall health
 * checks for the size of the step or run a ramp backwards.
 */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * Resolves after `ms` on the given clock.
 *
 * @example
 * ```ts
 * await sleep(systemClock, 10);
 * ```
 */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
