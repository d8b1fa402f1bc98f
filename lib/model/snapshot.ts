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
  /** The route's mirror pool and how requests are copied to it, when it has one. */
  readonly mirror?: MirrorSnapshot;
}

/** A route's mirror pool, weighted like any pool, with the settings of the copy. */
export interface MirrorSnapshot extends Upstream {
  /** Share of the route's requests copied, 0..100. */
  readonly percent: number;
  /** What `split_clients` hashes to pick the sample. */
  readonly key: string;
  readonly requestBody: boolean;
  readonly connectTimeoutSeconds: number;
  readonly timeoutSeconds: number;
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
  /**
   * The sources managed over HTTP by each ApiSource, added by the management port when
   * it serves the snapshot (`/status.json`, `/status`); never rendered.
   */
  readonly apiSources?: readonly ApiSourceStatus[];
}

/** An ApiSource and the sources it manages, for `/status.json` and the status page. */
export interface ApiSourceStatus {
  /** The ApiSource's `name` (its routes are under `/api/source/<name>/`). */
  readonly name: string;
  /** Where it is configured (`servers[0].routes[0].sources[0]`, `--replay-source`). */
  readonly path: string;
  readonly sources: readonly ManagedSourceStatus[];
}

/** One source added over HTTP. */
export interface ManagedSourceStatus {
  readonly name: string;
  /** `source_class` as given. */
  readonly sourceClass: string;
  /** ISO-8601, or null when it does not expire. */
  readonly expiration: string | null;
  /** When it was added or last replaced (ISO-8601). */
  readonly updatedAt: string;
  /** Its current endpoints, `host:port`. */
  readonly endpoints: readonly string[];
}
