/**
 * The table of adjuster kinds: validated config → {@linkcode AdjusterFactory}.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { AdjusterConfig } from "../model/config.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { AdjusterFactory } from "./adjuster.ts";
import type { CheckScheduler } from "./health/scheduler.ts";
import { delayStartAdjuster } from "./delay.ts";
import { CHECKS_METRIC, healthAdjuster } from "./health/adjuster.ts";
import { rampAdjuster } from "./ramp.ts";

export interface AdjusterDeps {
  /**
   * Must be the clock the tracker puts in each `AdjusterContext`; health checks take
   * their timing from the context's clock and the scheduler's, which should be this one.
   */
  readonly clock: Clock;
  /** One per process, shared by every health adjuster. */
  readonly scheduler: CheckScheduler;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** For unit tests: checks go through this `fetch`. Default: the raw HTTP probe (`http_probe.ts`). */
  readonly fetch?: typeof fetch;
}

/**
 * @example
 * ```ts
 * const scheduler = new CheckScheduler({ clock: systemClock });
 * const make = adjusterFactory(config, { clock: systemClock, scheduler, logger });
 * const adjuster = make({ endpoint, clock: systemClock, signal: () => updater.markDirty() });
 * adjuster.start();
 * ```
 */
export function adjusterFactory(config: AdjusterConfig, deps: AdjusterDeps): AdjusterFactory {
  switch (config.kind) {
    case "http_health": {
      // Exported as 0 from the start, so a dashboard sees "no failures" rather than nothing.
      for (const result of ["success", "failure", "inconclusive"]) {
        deps.metrics?.declareCounter(CHECKS_METRIC[0], CHECKS_METRIC[1], { result });
      }
      const healthDeps = { ...deps, logger: deps.logger.child("health") };
      return (ctx) => healthAdjuster(config, ctx, healthDeps);
    }
    case "ramp":
      return (ctx) => rampAdjuster(config, ctx);
    case "delay_start":
      return (ctx) => delayStartAdjuster(config, ctx);
  }
}
