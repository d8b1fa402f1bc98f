/**
 * Keeping a registry source's previous endpoints when its members all vanish in one step
 * (the job path deleted, every member gone at once), the way Synapse's
 * `use_previous_backends` does: a registry that says "nobody" right after saying "these"
 * is far more often a registry accident (a path deleted and re-created, an ensemble
 * rebuilt, an announcer bug) than a job that really has no instance left, and emptying
 * the route turns the accident into an outage. Unlike Synapse the endpoints are kept for a
 * grace period only, so a job that is really gone does empty its route (and answers the
 * route's `empty_endpoint_status_code`) once the grace period has passed.
 *
 * The kept endpoints stay the source's endpoints: their share adjusters (health checks)
 * keep running and judging them.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import type { Fields } from "../../config/walker.ts";
import { describe } from "../../config/walker.ts";
import type { Endpoint } from "../../model/endpoint.ts";
import type { PreviousEndpointsConfig } from "../../model/config.ts";

/** The defaults, declared once: on, for 60 s. */
export const DEFAULT_PREVIOUS_ENDPOINTS: PreviousEndpointsConfig = Object.freeze({
  use: true,
  graceSeconds: 60,
});

/**
 * Reads `use_previous_endpoints` (true/false, default true) and
 * `previous_endpoints_grace_seconds` (>= 0, default 60; 0 keeps nothing) of a registry
 * source, for the source kinds' descriptors. Neither set: nothing (the defaults apply).
 *
 * @example
 * ```ts
 * import { Walker } from "../../config/walker.ts";
 * const f = new Walker().fields({ previous_endpoints_grace_seconds: 10 }, "source")!;
 * parsePreviousEndpoints(f); // { previousEndpoints: { use: true, graceSeconds: 10 } }
 * ```
 */
export function parsePreviousEndpoints(
  f: Fields,
): { previousEndpoints?: PreviousEndpointsConfig } {
  const USE = "use_previous_endpoints", GRACE = "previous_endpoints_grace_seconds";
  if (!f.has(USE) && !f.has(GRACE)) return {};
  const raw = f.raw(USE);
  let use = DEFAULT_PREVIOUS_ENDPOINTS.use;
  if (raw !== undefined && raw !== null) {
    // The original's configs often spell booleans as strings ("True").
    const s = typeof raw === "string" ? raw.toLowerCase() : raw;
    if (s === true || s === "true") use = true;
    else if (s === false || s === "false") use = false;
    else f.fail(USE, `expected true or false, got ${describe(raw)}`);
  }
  const graceSeconds = f.number(GRACE, { def: DEFAULT_PREVIOUS_ENDPOINTS.graceSeconds, min: 0 });
  return { previousEndpoints: { use, graceSeconds } };
}

/** What is being kept, for status and logs. */
export interface KeptEndpoints {
  readonly endpoints: readonly Endpoint[];
  /** When the registry first showed no member (ms). */
  readonly since: number;
  /** When they are dropped unless members return (ms). */
  readonly until: number;
}

/**
 * The decision, per read: serve what was read, or keep what was served.
 *
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 *
 * const keeper = new PreviousEndpointsKeeper({ use: true, graceSeconds: 60 }, {
 *   clock: systemClock,
 *   onExpired: () => console.log("grace period over: serve nothing"),
 * });
 * const served = [{ host: "10.0.0.1", port: 80, ports: {} }];
 * keeper.serve(served, [], 0); // served: kept for up to 60 s
 * keeper.serve(served, [{ host: "10.0.0.2", port: 80, ports: {} }], 1); // the new member
 * keeper.stop();
 * ```
 */
export class PreviousEndpointsKeeper {
  readonly #policy: PreviousEndpointsConfig;
  readonly #clock: Clock;
  readonly #onExpired: (kept: KeptEndpoints) => void;
  #kept?: KeptEndpoints;
  #timer?: TimerId;

  constructor(
    policy: PreviousEndpointsConfig,
    deps: { readonly clock: Clock; readonly onExpired: (kept: KeptEndpoints) => void },
  ) {
    this.#policy = policy;
    this.#clock = deps.clock;
    this.#onExpired = deps.onExpired;
  }

  /** What is kept now, if anything. */
  get kept(): KeptEndpoints | undefined {
    return this.#kept;
  }

  /**
   * What the source should serve, given what it serves, the endpoints the registry gives
   * now and how many members it lists. Members listed: what they give is served, even
   * nothing (members that all say DRAINING, or whose data is unusable, are knowledge,
   * not its absence), and anything kept is forgotten. No member listed: what was served
   * is kept, once per emptiness and for the grace period; `onExpired` then says the source
   * must serve nothing.
   */
  serve(
    served: readonly Endpoint[],
    read: readonly Endpoint[],
    members: number,
  ): readonly Endpoint[] {
    if (read.length > 0 || members > 0) {
      this.#forget();
      return read;
    }
    if (this.#kept) return this.#kept.endpoints;
    const { use, graceSeconds } = this.#policy;
    if (!use || graceSeconds <= 0 || served.length === 0) return read;
    const since = this.#clock.now();
    const kept = { endpoints: served, since, until: since + graceSeconds * 1000 };
    this.#kept = kept;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      if (this.#kept !== kept) return;
      this.#kept = undefined;
      this.#onExpired(kept);
    }, graceSeconds * 1000);
    return served;
  }

  /** Cancels the grace timer (the source stops). */
  stop(): void {
    this.#forget();
  }

  #forget(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#kept = undefined;
  }
}
