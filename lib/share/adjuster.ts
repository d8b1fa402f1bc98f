/**
 * Share adjusters: per-endpoint factors in 0..1 (health, delayed start, ramping). An
 * endpoint's share is the product of its adjusters' factors; the weight calculator
 * (`lib/balance/weights.ts`) turns shares into weights across a pool.
 *
 * One adjuster instance exists per (source, endpoint, configured adjuster); it is created
 * when the endpoint appears and stopped when it leaves.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Endpoint } from "../model/endpoint.ts";
import type { ShareFactor } from "../model/share.ts";

export interface ShareAdjuster {
  /** Begins any timers or checks. Called once, right after creation. */
  start(): void;
  /** Stops every timer and in-flight check; no timer may remain. Idempotent. */
  stop(): void;
  /** The current factor. Cheap; called on every snapshot. */
  current(): ShareFactor;
}

/** What an adjuster gets to know about the world. */
export interface AdjusterContext {
  readonly endpoint: Endpoint;
  readonly clock: Clock;
  /** Call whenever `current().share` changed (or may have), so the updater re-renders. */
  readonly signal: () => void;
}

/** Builds one adjuster for one endpoint. Created from config; may close over shared state. */
export type AdjusterFactory = (ctx: AdjusterContext) => ShareAdjuster;
