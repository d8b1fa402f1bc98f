/**
 * The desired proxy state as plain, immutable data. Built by `lib/balance/build.ts` from
 * the config and the current pools; read by the renderer, /status.json, metrics and
 * tests. It holds no sockets, timers or functions.
 *
 * @module
 */

import type { Context } from "./config.ts";

/** Which pool an endpoint belongs to. */
export type Pool = "primary" | "overflow";

/** One endpoint as the proxy should see it. */
export interface WeightedEndpoint {
  /** As the registry named it. */
  readonly host: string;
  /** What nginx connects to: `host` itself, or the address aurproxy resolved it to. */
  readonly address: string;
  readonly port: number;
  /** Integer nginx weight; 0 means "not a live server". */
  readonly weight: number;
  /** Fraction of this route's traffic (0..1) the endpoint should get. */
  readonly fraction: number;
  /** Product of the adjusters' factors (1 with none). */
  readonly share: number;
  readonly pool: Pool;
  /** The source that produced the endpoint. */
  readonly source: string;
  /** Adjuster factors, in configured order. */
  readonly factors: readonly {
    readonly name: string;
    readonly share: number;
    readonly detail: string;
  }[];
  /** Human-readable steps from share to weight; rendered as the nginx comment. */
  readonly audit: readonly string[];
}

/**
 * An endpoint left out of the config: its host name has no address, or it points at
 * aurproxy's own management port.
 */
export interface SkippedEndpoint {
  readonly host: string;
  readonly port: number;
  readonly pool: Pool;
  readonly source: string;
  readonly reason: string;
  /** Why, for counting: absent (or `unresolved`) for a host name without an address. */
  readonly cause?: "unresolved" | "management_port";
}

/** Endpoints of one route or stream, with how they were weighted. */
export interface Upstream {
  /** nginx upstream name: letters, digits and `_` only. */
  readonly slug: string;
  readonly endpoints: readonly WeightedEndpoint[];
  /**
   * Endpoints left out (unresolvable host names, aurproxy's own management port); they
   * take no part in the weighting.
   */
  readonly skipped: readonly SkippedEndpoint[];
  /** True when no endpoint had capacity and traffic is spread over all primaries anyway. */
  readonly failOpen: boolean;
  /** Pool-level notes (adjustment delay, overflow portion, fail-open reason). */
  readonly notes: readonly string[];
}

export interface RouteSnapshot extends Upstream {
  readonly locations: readonly string[];
  readonly emptyEndpointStatusCode: number;
}

export type StreamSnapshot = Upstream;

export interface ServerSnapshot {
  readonly slug: string;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  readonly healthcheckRoute?: string;
  readonly context: Context;
  readonly routes: readonly RouteSnapshot[];
  readonly streams: readonly StreamSnapshot[];
}

export interface ProxySnapshot {
  readonly context: Context;
  readonly servers: readonly ServerSnapshot[];
  /** When the snapshot was built (ms since epoch). Not rendered, so it never forces a reload. */
  readonly builtAt: number;
  /** True while `--weight-adjustment-delay-seconds` holds adjusters back. */
  readonly adjustmentDelayed: boolean;
}
