/**
 * The table of adjuster kinds: config → {@linkcode AdjusterFactory}.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { AdjusterConfig } from "../config/types.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { AdjusterFactory } from "./adjuster.ts";
import type { CheckScheduler } from "./check_scheduler.ts";
import { delayStartAdjuster } from "./delay.ts";
import { healthAdjuster } from "./health.ts";
import { rampAdjuster } from "./ramp.ts";

export interface AdjusterDeps {
  readonly clock: Clock;
  readonly scheduler: CheckScheduler;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  readonly fetch?: typeof fetch;
}

/**
 * @example
 * ```ts
 * const make = adjusterFactory({ kind: "delay_start", path: "", seconds: 30 }, deps);
 * const adjuster = make({ endpoint, clock, signal: () => updater.markDirty() });
 * ```
 */
export function adjusterFactory(config: AdjusterConfig, deps: AdjusterDeps): AdjusterFactory {
  switch (config.kind) {
    case "http_health":
      return (ctx) => healthAdjuster(config, ctx, deps);
    case "ramp":
      return (ctx) => rampAdjuster(config, ctx);
    case "delay_start":
      return (ctx) => delayStartAdjuster(config, ctx);
  }
}
