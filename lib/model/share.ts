/**
 * Share factors: what one share adjuster says of one endpoint right now. The weight
 * calculator multiplies them; the audit and `/status.json` show them.
 *
 * @module
 */

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
