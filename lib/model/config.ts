/**
 * The validated configuration model. `lib/config/parse.ts` turns the JSON of the original
 * aurproxy's `--config` into these types (or a list of errors naming JSON paths); nothing
 * downstream sees raw JSON.
 *
 * @module
 */

/** Free-form, backend-specific values (`default_server`, `location_blacklist`, ...). */
export type Context = Readonly<Record<string, unknown>>;

export interface ProxyConfig {
  readonly backend: "nginx";
  readonly context: Context;
  readonly servers: readonly ServerConfig[];
  readonly nginx: NginxOptions;
}

/** Top-level backend keys of the original config, plus where to find nginx. */
export interface NginxOptions {
  /** `configuration_file`, default `/etc/aurproxy/nginx/nginx.conf`. */
  readonly configurationFile: string;
  /** `nginx_pid_path`, default `/var/run/nginx.pid`. */
  readonly pidPath: string;
  /** `stats_port`: a loopback-only `stub_status` server, when set. */
  readonly statsPort?: number;
  /** `nginx_binary`, default `nginx` (looked up in PATH, then /usr/sbin/nginx). */
  readonly binary: string;
  /** `nginx_prefix`: passed as `-p`, for nginx running out of a private directory. */
  readonly prefix?: string;
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
}

export type StreamConfig = PoolsConfig;

export type SourceConfig =
  | StaticSourceConfig
  | ServerSetSourceConfig
  | AuroraSourceConfig
  | MesosMasterSourceConfig
  | ApiSourceConfig;

interface SourceCommon {
  readonly path: string;
  readonly shareAdjusters: readonly AdjusterConfig[];
}

export interface StaticSourceConfig extends SourceCommon {
  readonly kind: "static";
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

interface ZkCommon extends SourceCommon {
  /** Comma-separated `host:port` list, exactly as configured (identifies the ensemble). */
  readonly zkServers: string;
  /** Named additional endpoint to use instead of the service endpoint. */
  readonly endpoint?: string;
  /** Default `member_`. */
  readonly zkMemberPrefix: string;
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

export interface MesosMasterSourceConfig extends SourceCommon {
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

export interface HealthCheckConfig {
  readonly kind: "http_health";
  readonly path: string;
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

export interface RampConfig {
  readonly kind: "ramp";
  readonly path: string;
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

export interface DelayStartConfig {
  readonly kind: "delay_start";
  readonly path: string;
  readonly seconds: number;
}
