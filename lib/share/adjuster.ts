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

/** One adjuster's current contribution to an endpoint's share, with its audit text. */
export interface ShareFactor {
  /** Short adjuster name: "health", "ramp", "delay". */
  readonly name: string;
  /** 0..1. */
  readonly share: number;
  /** Why, for the nginx comment and the status page, e.g. "healthy", "ramping 12/60s". */
  readonly detail: string;
  /**
   * The adjuster's state as data for `/status.json` (health status and counters, ramp
   * phase and progress, ...). Never rendered into the proxy config.
   */
  readonly state?: Readonly<Record<string, string | number | boolean>>;
}

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
