/**
 * How long a supervisor waits before starting a child again after it died: exponential
 * in the number of consecutive failures, capped, and forgotten once a child has stayed up
 * long enough to count as healthy. Pure, so the schedule is tested without processes.
 *
 * @module
 */

/** The restart schedule of a {@linkcode Supervisor}. */
export interface BackoffPolicy {
  /** Delay before the first restart after a failure. */
  readonly initialMs: number;
  /** Upper bound on any delay, so a child that keeps dying is still retried regularly. */
  readonly maxMs: number;
  /** Growth per consecutive failure (2 doubles the delay each time). */
  readonly factor: number;
  /**
   * A child that ran at least this long before exiting was healthy: the next failure
   * starts the schedule again at `initialMs`.
   */
  readonly resetAfterMs: number;
}

/** 0.5 s, 1 s, 2 s, … up to 30 s; reset after a minute of uptime. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 500,
  maxMs: 30_000,
  factor: 2,
  resetAfterMs: 60_000,
};

/**
 * The delay before restart number `failures` (1 for the first failure in a row).
 *
 * @example
 * ```ts
 * import { backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";
 * backoffDelay(DEFAULT_BACKOFF, 1); // 500
 * backoffDelay(DEFAULT_BACKOFF, 3); // 2000
 * backoffDelay(DEFAULT_BACKOFF, 20); // 30000 (the cap)
 * ```
 */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const n = Math.max(1, failures);
  // A long run of failures overflows to Infinity, which the cap turns back into maxMs.
  return Math.min(policy.maxMs, policy.initialMs * policy.factor ** (n - 1));
}

/**
 * The consecutive-failure count after a child exits unexpectedly: one more than before,
 * or 1 if the child had stayed up at least `resetAfterMs`.
 *
 * @example
 * ```ts
 * import { DEFAULT_BACKOFF, nextFailureCount } from "./backoff.ts";
 * nextFailureCount(DEFAULT_BACKOFF, 3, 200); // 4: it died quickly again
 * nextFailureCount(DEFAULT_BACKOFF, 3, 120_000); // 1: it had been healthy
 * ```
 */
export function nextFailureCount(
  policy: BackoffPolicy,
  failures: number,
  uptimeMs: number,
): number {
  return uptimeMs >= policy.resetAfterMs ? 1 : failures + 1;
}
