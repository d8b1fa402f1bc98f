/**
 * A share-adjuster kind: the config side the parser uses (class paths, keys, defaults,
 * parse; see `lib/config/kind.ts`) and `create`, which turns the parsed config and the
 * shared objects the wiring passes in into an {@linkcode AdjusterFactory} (one adjuster
 * per endpoint). One descriptor per kind, beside its implementation (`ramp_kind.ts`,
 * `health/kind.ts`, ...); `kinds.ts` lists them.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ConfigKind } from "../config/kind.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { AdjusterCommon, AdjusterConfig } from "../model/config.ts";
import type { AdjusterFactory } from "./adjuster.ts";
import type { CheckScheduler } from "./health/scheduler.ts";

/** What adjusters share, created once in the wiring. */
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
  /** For unit tests: checks go through this `fetch`. Default: the raw HTTP probe (`health/probe.ts`). */
  readonly fetch?: typeof fetch;
}

/**
 * A share-adjuster kind whose parse produces `C` and whose create takes it. `create` is a
 * method, so an `AdjusterKind<RampConfig>` fits a table of `AdjusterKind` (method
 * parameters compare bivariantly); the table dispatches on `kind`, which makes it safe.
 */
export interface AdjusterKind<C extends AdjusterConfig = AdjusterConfig>
  extends ConfigKind<C, AdjusterCommon> {
  create(config: C, deps: AdjusterDeps): AdjusterFactory;
}

/**
 * Declares a share-adjuster kind; the type parameter makes its parse and create agree.
 *
 * @example
 * ```ts
 * import type { DelayStartConfig } from "../model/config.ts";
 * import { delayStartAdjuster } from "./delay.ts";
 * export const delayStartKind = defineAdjusterKind<DelayStartConfig>({
 *   kind: "delay_start",
 *   canonical: "tellapart.aurproxy.share.adjusters.DelayStartShareAdjuster",
 *   aliases: ["delay_start"],
 *   parse: (f, common) => ({
 *     ...common,
 *     kind: "delay_start",
 *     seconds: f.number("seconds", { required: true, min: 0 }),
 *   }),
 *   create: (c) => (ctx) => delayStartAdjuster(c, ctx),
 * });
 * ```
 */
export function defineAdjusterKind<C extends AdjusterConfig>(
  kind: AdjusterKind<C>,
): AdjusterKind<C> {
  return kind;
}
