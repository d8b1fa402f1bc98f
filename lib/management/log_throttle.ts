/**
 * Spaces out log lines about something a client can make happen at will (refused
 * requests, accept errors), so a flood of it cannot flood the log; metrics count every
 * occurrence.
 *
 * @module
 */

import type { Clock } from "../clock.ts";

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 *
 * const logger = memoryLogger();
 * const t = new LogThrottle(systemClock, 10_000);
 * const n = t.take();
 * if (n !== undefined) logger.warn(`refused a request${n ? ` (${n} more since)` : ""}`);
 * ```
 */
export class LogThrottle {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #last = -Infinity;
  #skipped = 0;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /**
   * For one occurrence: undefined when it must not be logged now, else how many were
   * not logged since the last line.
   */
  take(): number | undefined {
    const now = this.#clock.now();
    if (now - this.#last < this.#intervalMs) {
      this.#skipped++;
      return undefined;
    }
    const skipped = this.#skipped;
    this.#last = now;
    this.#skipped = 0;
    return skipped;
  }
}
