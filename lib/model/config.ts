/**
 * The validated configuration model. `lib/config/parse.ts` turns the JSON of the original
 * aurproxy's `--config` into these types (or a list of errors naming JSON paths); nothing
 * downstream sees raw JSON. Each source and adjuster kind's config type is here, shared by
 * every layer; the kind's descriptor beside its implementation (`*_kind.ts`) parses it.
 *
 * @module
 */

/** Free-form, backend-specific values (`default_server`, `location_blacklist`, ...). */
export type Context = Readonly<Record<string, unknown>>;

/**
 * A validated config. Backend-neutral: `backend` names an entry of the backend table
 * (`lib/backends/table.ts`), whose own parser produced `backendOptions` from the
 * top-level keys it owns; only that entry knows their type.
 */
export interface ProxyConfig {
  readonly backend: string;
  readonly backendOptions: unknown;
  readonly context: Context;
  readonly servers: readonly ServerConfig[];
}

export interface ServerConfig {
  /** JSON path for messages, e.g. `servers[0]`. */
  readonly path: string;
  /** Stable identifier derived from hosts and ports (letters, digits, `_`). */
  readonly slug: string;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  readonly healthcheckRoute?: string;
  readonly context: Context;
  readonly routes: readonly RouteConfig[];
  readonly streams: readonly StreamConfig[];
}

/** What routes and streams share: a primary pool and an optional overflow pool. */
export interface PoolsConfig {
  readonly path: string;
  /** nginx upstream name: stable across restarts, unique, letters, digits and `_` only. */
  readonly slug: string;
  readonly sources: readonly SourceConfig[];
  readonly overflowSources: readonly SourceConfig[];
  /** 0..100, or undefined when not set. */
  readonly overflowThresholdPct?: number;
}

export interface RouteConfig extends PoolsConfig {
  readonly locations: readonly string[];
  /** Default 503. */
  readonly emptyEndpointStatusCode: number;
  /** A share of the route's requests copied to another pool (`mirror_sources`). */
  readonly mirror?: MirrorConfig;
}

/**
 * A route's mirror pool: nginx copies a sample of the route's requests to it and throws
 * the answers away. A pool like the others (its sources' share adjusters apply), without
 * overflow. `slug` names its upstream.
 */
export interface MirrorConfig extends PoolsConfig {
  /** Share of the route's requests copied, 0..100 (two decimals at most). */
  readonly percent: number;
  /** What `split_clients` hashes to pick the sample (an nginx variable expression). */
  readonly key: string;
  /** Copy request bodies too (`mirror_request_body`). */
  readonly requestBody: boolean;
  /** Seconds to connect to a mirror endpoint before giving up on the copy. */
  readonly connectTimeoutSeconds: number;
  /** Seconds to send the copy, and to wait for each read of its answer. */
  readonly timeoutSeconds: number;
}

/**
 * The defaults of a route's mirror keys, declared once: the parser applies them and the
 * docs quote them. The timeouts are short on purpose: nginx finishes a client request
 * (and reads the next one on a kept-alive connection) only once its mirror copy is done.
 */
export const MIRROR_DEFAULTS = Object.freeze({
  percent: 100,
  key: "$request_id",
  requestBody: true,
  connectTimeoutSeconds: 0.2,
  timeoutSeconds: 0.5,
});

export type StreamConfig = PoolsConfig;

export type SourceConfig =
  | StaticSourceConfig
  | ServerSetSourceConfig
  | AuroraSourceConfig
  | MesosMasterSourceConfig
  | ApiSourceConfig;

/** What every source config has, read by the generic parser. */
export interface SourceCommon {
  /** JSON path for messages, e.g. `servers[0].routes[0].sources[1]`. */
  readonly path: string;
  readonly shareAdjusters: readonly AdjusterConfig[];
}

export interface StaticSourceConfig extends SourceCommon {
  readonly kind: "static";
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/**
 * Whether a registry source keeps its previous endpoints when its members all vanish at
 * once, and for how long (`use_previous_endpoints`, `previous_endpoints_grace_seconds`).
 */
export interface PreviousEndpointsConfig {
  readonly use: boolean;
  readonly graceSeconds: number;
}

/** What every ZooKeeper registry source has. */
interface RegistryCommon extends SourceCommon {
  /** Absent: the default (see `lib/sources/registry/previous_endpoints.ts`). */
  readonly previousEndpoints?: PreviousEndpointsConfig;
}

interface ZkCommon extends RegistryCommon {
  /** Comma-separated `host:port` list, exactly as configured (identifies the ensemble). */
  readonly zkServers: string;
  /** Named additional endpoint to use instead of the service endpoint. */
  readonly endpoint?: string;
  /** Only children whose name starts with it are members; unset: every child. */
  readonly zkMemberPrefix?: string;
}

export interface ServerSetSourceConfig extends ZkCommon {
  readonly kind: "serverset";
  readonly zkPath: string;
}

export interface AuroraSourceConfig extends ZkCommon {
  readonly kind: "aurora";
  readonly role: string;
  readonly environment: string;
  readonly job: string;
  /** Default `/aurora/`. */
  readonly announcerServersetPath: string;
}

export interface MesosMasterSourceConfig extends RegistryCommon {
  readonly kind: "mesos_master";
  readonly zkServers: string;
  readonly mesosMasterPath: string;
}

export interface ApiSourceConfig extends SourceCommon {
  readonly kind: "api";
  readonly name: string;
  readonly sourceWhitelist: readonly string[];
}

export type AdjusterConfig = HealthCheckConfig | RampConfig | DelayStartConfig;

/** What every share-adjuster config has, read by the generic parser. */
export interface AdjusterCommon {
  /** JSON path for messages. */
  readonly path: string;
}

export interface HealthCheckConfig extends AdjusterCommon {
  readonly kind: "http_health";
  readonly route: string;
  /** Seconds between checks. */
  readonly interval: number;
  /** Seconds before a check times out. */
  readonly timeout: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  readonly httpMethod: "GET" | "HEAD";
  /** Check this named port of the endpoint instead of its traffic port. */
  readonly portName?: string;
}

export type RampCurve = "linear" | "quadratic";

export interface RampConfig extends AdjusterCommon {
  readonly kind: "ramp";
  /** Seconds after appearance before ramping starts. */
  readonly rampDelay: number;
  /** Seconds over which the share goes from `minShare` to 1. */
  readonly rampSeconds: number;
  /** Seconds between update signals while ramping. */
  readonly updateFrequency: number;
  readonly curve: RampCurve;
  /** Share at the start of the ramp (0..1), default 0. */
  readonly minShare: number;
}

export interface DelayStartConfig extends AdjusterCommon {
  readonly kind: "delay_start";
  readonly seconds: number;
}
