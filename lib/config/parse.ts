/**
 * Validates the JSON of `--config` into the typed model of `./types.ts`. Every problem
 * is collected in one pass and thrown together as {@linkcode UsageErrors}, each naming
 * its JSON path (`servers[0].routes[1].locations`) and what was expected. Nothing starts
 * before the whole config is valid.
 *
 * Decisions worth knowing:
 * - Numbers may be numeric strings (`"90"`), as the original accepted them; `"abc"` and
 *   `"0x10"` are refused.
 * - Every string that reaches nginx.conf (context values, locations, server names, paths)
 *   is checked here for characters that could end or open a directive. Values nginx may
 *   still refuse (`worker_connections: "lots"`) are left to `nginx -t`.
 * - Health checks: `timeout` may equal `interval` but not exceed it, so a check always
 *   ends before the next one is due. `http_method` is case-insensitive, as in the original.
 * - Two servers may share a port only as HTTP virtual hosts answering different names.
 * - Slugs (nginx upstream names) derive from hosts, ports, position and first location:
 *   stable across restarts of the same config, unique, letters/digits/`_` only.
 *
 * @module
 */

import { isValidHost, isValidPort } from "../model/endpoint.ts";
import { UsageError, UsageErrors } from "../errors.ts";
import { didYouMean } from "./did_you_mean.ts";
import { type ClassTables, DEFAULT_CLASSES, findClass, resolveClass } from "./classes.ts";
import type {
  AdjusterConfig,
  Context,
  NginxOptions,
  PoolsConfig,
  ProxyConfig,
  RampCurve,
  RouteConfig,
  ServerConfig,
  SourceConfig,
  StreamConfig,
} from "../model/config.ts";

type Json = Record<string, unknown>;

/** Options of {@linkcode parseConfig}. */
export interface ParseOptions {
  /** Known source and adjuster classes; default {@linkcode DEFAULT_CLASSES}. */
  readonly classes?: ClassTables;
}

/** Characters that could end or open an nginx directive, block, comment or variable. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const UNSAFE = /[;{}"'\\#$`\x00-\x1f\x7f]/;
const UNSAFE_WHAT = "; { } quotes # $ \\ or control characters";
/** nginx prefix (`/api`, `^~ /api`) or exact (`= /api`) location. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const LOCATION = /^(= *|\^~ *)?\/[^\s;{}"'#\\$`\x00-\x1f\x7f]*$/;
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const PLAIN_PATH = /^\/[^\s;{}"'#\\$`\x00-\x1f\x7f]*$/;
/** Printable, no spaces: fits an HTTP request line. */
const HTTP_TARGET = /^\/[\x21-\x7e]*$/;
const SERVER_NAME = /^(default|_|(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;
/** Aurora's own rule for role, environment and job names. */
const AURORA_NAME = /^[\w.-]+$/;
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const NAME = /^[^\s/\x00-\x1f\x7f]+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Collects errors while walking the JSON. */
class Walker {
  readonly errors: UsageError[] = [];

  constructor(readonly classes: ClassTables) {}

  fail(path: string, reason: string): undefined {
    this.errors.push(new UsageError(path, reason));
    return undefined;
  }

  object(v: unknown, path: string): Json | undefined {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      return this.fail(path, `expected an object, got ${describe(v)}`);
    }
    return v as Json;
  }

  /**
   * Reports keys not in `allowed`, with a did-you-mean, or with `misplaced[key]` for a
   * key that belongs elsewhere.
   */
  keys(
    o: Json,
    path: string,
    allowed: readonly string[],
    misplaced: Readonly<Record<string, string>> = {},
  ): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      if (Object.hasOwn(misplaced, k)) {
        this.fail(join(path, k), `unknown key: ${misplaced[k]}`);
        continue;
      }
      const hint = didYouMean(k, allowed);
      this.fail(join(path, k), `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
  }

  /** A non-empty string; `check` returns a reason to refuse it. */
  string(
    o: Json,
    key: string,
    path: string,
    required: boolean,
    check?: (s: string) => string | undefined,
  ): string | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      return required ? this.fail(p, "required, a string") : undefined;
    }
    if (typeof v !== "string" || v === "") {
      return this.fail(p, `expected a non-empty string, got ${describe(v)}`);
    }
    const bad = check?.(v);
    return bad ? this.fail(p, bad) : v;
  }

  /** A number (numeric strings accepted, as the original was lax) within bounds. */
  number(o: Json, key: string, path: string, opts: NumberOpts): number | undefined {
    return this.numberValue(o[key], join(path, key), opts);
  }

  numberValue(v: unknown, p: string, opts: NumberOpts): number | undefined {
    if (v === undefined || v === null) {
      return opts.required ? this.fail(p, `required, ${numberKind(opts)}`) : opts.def;
    }
    const n = typeof v === "number"
      ? v
      : typeof v === "string" && DECIMAL.test(v.trim())
      ? Number(v.trim())
      : NaN;
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
      return this.fail(p, `expected ${numberKind(opts)}, got ${describe(v)}`);
    }
    if (
      (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max) ||
      (opts.above !== undefined && n <= opts.above)
    ) {
      return this.fail(p, `expected ${numberKind(opts)}, got ${n}`);
    }
    return n;
  }

  list(o: Json, key: string, path: string, required: boolean): unknown[] | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      return required ? this.fail(p, "required, a non-empty list") : undefined;
    }
    if (!Array.isArray(v)) return this.fail(p, `expected a list, got ${describe(v)}`);
    if (required && v.length === 0) return this.fail(p, "required, a non-empty list");
    return v;
  }

  /** A list of non-empty strings (non-empty itself when required). */
  stringList(
    o: Json,
    key: string,
    path: string,
    required: boolean,
    check?: (s: string) => string | undefined,
  ): string[] | undefined {
    const v = o[key];
    const p = join(path, key);
    const what = required ? "a non-empty list of strings" : "a list of strings";
    if (v === undefined || v === null) {
      return required ? this.fail(p, `required, ${what}`) : undefined;
    }
    if (!Array.isArray(v) || (required && v.length === 0)) {
      return this.fail(p, `expected ${what}, got ${describe(v)}`);
    }
    const out: string[] = [];
    v.forEach((s, i) => {
      if (typeof s !== "string" || s === "") {
        this.fail(`${p}[${i}]`, `expected a non-empty string, got ${describe(s)}`);
        return;
      }
      const bad = check?.(s);
      if (bad) this.fail(`${p}[${i}]`, bad);
      else out.push(s);
    });
    return out;
  }

  /**
   * Free-form context, but no string anywhere in it may carry nginx syntax, and the keys
   * the renderer interprets (`location_blacklist`, `default_server`, `overflow_port`) must
   * have their shape.
   */
  context(o: Json, path: string, isServer: boolean): Context {
    const v = o.context;
    const cp = join(path, "context");
    if (v === undefined || v === null) return {};
    const c = this.object(v, cp);
    if (!c) return {};
    const visit = (x: unknown, p: string) => {
      if (typeof x === "string") {
        const bad = unsafe(x);
        if (bad) this.fail(p, bad);
      } else if (Array.isArray(x)) x.forEach((y, i) => visit(y, `${p}[${i}]`));
      else if (x && typeof x === "object") {
        for (const [k, y] of Object.entries(x)) visit(y, join(p, k));
      }
    };
    for (const [k, x] of Object.entries(c)) {
      if (k !== "location_blacklist") visit(x, join(cp, k));
    }
    this.stringList(c, "location_blacklist", cp, false, (s) => unsafe(s) ?? checkLocation(s));
    const def = c.default_server;
    if (isServer && def !== undefined && !BOOLEANS.includes(def as string)) {
      this.fail(
        join(cp, "default_server"),
        `expected true or false (or "True"/"False"), got ${describe(def)}`,
      );
    }
    const op = c.overflow_port;
    if (isServer && op !== undefined) {
      const n = Number(op);
      if (!/^\d+$/.test(String(op)) || n < 1 || n > 65535) {
        this.fail(join(cp, "overflow_port"), `expected a port 1-65535, got ${describe(op)}`);
      }
    }
    return c;
  }
}

const BOOLEANS: readonly unknown[] = [true, false, "True", "False", "true", "false"];
const isTrue = (v: unknown) => v === true || v === "True" || v === "true";

interface NumberOpts {
  readonly required?: boolean;
  readonly def?: number;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Exclusive lower bound. */
  readonly above?: number;
}

function numberKind(o: NumberOpts): string {
  const kind = o.integer ? "an integer" : "a number";
  if (o.min !== undefined && o.max !== undefined) return `${kind} ${o.min}-${o.max}`;
  if (o.above !== undefined) return `${kind} > ${o.above}`;
  if (o.min !== undefined) return `${kind} >= ${o.min}`;
  return kind;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length ? "a list" : "an empty list";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function unsafe(s: string): string | undefined {
  return UNSAFE.test(s)
    ? `unsafe characters in ${
      JSON.stringify(s)
    }: context values are rendered into nginx.conf and may not contain ${UNSAFE_WHAT}`
    : undefined;
}

function checkLocation(s: string): string | undefined {
  return LOCATION.test(s)
    ? undefined
    : `expected an nginx prefix location like "/api" or "= /exact", got ${JSON.stringify(s)}`;
}

/** The identity nginx gives a location: `^~ /a` and `/a` clash, `= /a` does not. */
function locationKey(s: string): string {
  const m = /^(=|\^~)? *(\/.*)$/.exec(s);
  return m?.[1] === "=" ? `= ${m[2]}` : m?.[2] ?? s;
}

function slugPart(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "root";
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable tag for a truncated slug. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const MAX_SLUG_HOSTS = 40;

/** `s_<hosts>_<ports>`, the hosts part cut (and tagged with a hash) when long. */
function serverSlug(hosts: readonly string[], ports: readonly number[]): string {
  let h = hosts.map(slugPart).join("_") || "any";
  if (h.length > MAX_SLUG_HOSTS) {
    h = `${h.slice(0, MAX_SLUG_HOSTS).replace(/_+$/, "")}_${fnv1a(hosts.join(","))}`;
  }
  return `s_${h}_${ports.join("_")}`;
}

/** Validates a `host:port,host:port` connect string. */
function checkZkServers(s: string): string | undefined {
  for (const part of s.split(",")) {
    const m = /^\s*([^\s:/]+):(\d+)\s*$/.exec(part);
    if (!m || !isValidHost(m[1]) || !isValidPort(Number(m[2]))) {
      const chroot = part.includes("/")
        ? " (a chroot suffix is not supported: put it in the source's path)"
        : "";
      return `expected "host:port,host:port", bad entry ${JSON.stringify(part)}${chroot}`;
    }
  }
  return undefined;
}

function checkZnode(s: string): string | undefined {
  // The server refuses "." and ".." segments; a source on such a path would retry forever.
  if (s.split("/").some((seg) => seg === "." || seg === "..")) {
    return `expected a ZooKeeper path without "." or ".." segments, got ${JSON.stringify(s)}`;
  }
  // deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
  return /[\s\x00-\x1f\x7f]/.test(s) || s.replace(/\/+/g, "") === ""
    ? `expected a ZooKeeper path like "/aurora", got ${JSON.stringify(s)}`
    : undefined;
}

function checkAuroraName(s: string): string | undefined {
  return AURORA_NAME.test(s) && s !== "." && s !== ".."
    ? undefined
    : `expected an Aurora name (letters, digits, "_", "-", "."), got ${JSON.stringify(s)}`;
}

function checkName(s: string): string | undefined {
  return NAME.test(s)
    ? undefined
    : `expected a name without spaces, "/" or control characters, got ${JSON.stringify(s)}`;
}

const ADJUSTER_KEYS: Record<AdjusterConfig["kind"], readonly string[]> = {
  http_health: [
    "route",
    "interval",
    "timeout",
    "unhealthy_threshold",
    "healthy_threshold",
    "http_method",
    "port_name",
  ],
  ramp: ["ramp_delay", "ramp_seconds", "update_frequency", "curve", "min_share"],
  delay_start: ["seconds"],
};

function parseAdjuster(w: Walker, raw: unknown, path: string): AdjusterConfig | undefined {
  const o = w.object(raw, path);
  if (!o) return;
  const cls = w.string(o, "share_adjuster_class", path, true);
  if (!cls) return;
  const r = resolveClass(w.classes.adjusters, cls);
  if (!r.ok) return w.fail(join(path, "share_adjuster_class"), r.reason);
  w.keys(o, path, ["share_adjuster_class", ...ADJUSTER_KEYS[r.kind]]);
  switch (r.kind) {
    case "http_health": {
      const route = w.string(
        o,
        "route",
        path,
        true,
        (s) =>
          HTTP_TARGET.test(s)
            ? undefined
            : `expected an HTTP path like "/health", got ${JSON.stringify(s)}`,
      );
      const interval = w.number(o, "interval", path, { def: 3, above: 0 });
      const timeout = w.number(o, "timeout", path, { def: 2, above: 0 });
      if (interval !== undefined && timeout !== undefined && timeout > interval) {
        w.fail(join(path, "timeout"), `must not exceed interval (${interval}), got ${timeout}`);
      }
      const m = o.http_method ?? "GET";
      const method = typeof m === "string" ? m.toUpperCase() : "";
      if (method !== "GET" && method !== "HEAD") {
        w.fail(join(path, "http_method"), `expected GET or HEAD, got ${describe(m)}`);
      }
      return {
        kind: "http_health",
        path,
        route: route ?? "/",
        interval: interval ?? 3,
        timeout: timeout ?? 2,
        unhealthyThreshold:
          w.number(o, "unhealthy_threshold", path, { def: 2, min: 1, integer: true }) ?? 2,
        healthyThreshold:
          w.number(o, "healthy_threshold", path, { def: 2, min: 1, integer: true }) ?? 2,
        httpMethod: method === "HEAD" ? "HEAD" : "GET",
        portName: w.string(o, "port_name", path, false, checkName),
      };
    }
    case "ramp": {
      const curve = o.curve ?? "linear";
      if (curve !== "linear" && curve !== "quadratic") {
        w.fail(join(path, "curve"), `expected "linear" or "quadratic", got ${describe(curve)}`);
      }
      return {
        kind: "ramp",
        path,
        rampDelay: w.number(o, "ramp_delay", path, { required: true, min: 0 }) ?? 0,
        rampSeconds: w.number(o, "ramp_seconds", path, { required: true, min: 0 }) ?? 0,
        updateFrequency: w.number(o, "update_frequency", path, { required: true, above: 0 }) ?? 1,
        curve: curve as RampCurve,
        minShare: w.number(o, "min_share", path, { def: 0, min: 0, max: 1 }) ?? 0,
      };
    }
    case "delay_start":
      return {
        kind: "delay_start",
        path,
        seconds: w.number(o, "seconds", path, { required: true, min: 0 }) ?? 0,
      };
  }
}

const SOURCE_KEYS: Record<SourceConfig["kind"], readonly string[]> = {
  static: ["name", "host", "port"],
  aurora: [
    "role",
    "environment",
    "job",
    "zk_servers",
    "announcer_serverset_path",
    "endpoint",
    "zk_member_prefix",
  ],
  serverset: ["path", "zk_servers", "endpoint", "zk_member_prefix"],
  mesos_master: ["mesos_master_path", "zk_servers"],
  api: ["name", "source_whitelist"],
};

function parseSource(w: Walker, raw: unknown, path: string): SourceConfig | undefined {
  const o = w.object(raw, path);
  if (!o) return;
  const cls = w.string(o, "source_class", path, true);
  if (!cls) return;
  const r = resolveClass(w.classes.sources, cls);
  if (!r.ok) return w.fail(join(path, "source_class"), r.reason);
  w.keys(o, path, ["source_class", "share_adjusters", ...SOURCE_KEYS[r.kind]]);
  const shareAdjusters = (w.list(o, "share_adjusters", path, false) ?? [])
    .map((a, i) => parseAdjuster(w, a, `${path}.share_adjusters[${i}]`))
    .filter((a) => a !== undefined);
  const str = (key: string, check?: (s: string) => string | undefined) =>
    w.string(o, key, path, true, check) ?? "";
  const opt = (key: string, check?: (s: string) => string | undefined) =>
    w.string(o, key, path, false, check);
  const common = { path, shareAdjusters };
  switch (r.kind) {
    case "static":
      return {
        ...common,
        kind: "static",
        name: str("name"),
        host: str(
          "host",
          (s) =>
            isValidHost(s)
              ? undefined
              : `expected a hostname or IP address, got ${JSON.stringify(s)}`,
        ),
        port: w.number(o, "port", path, { required: true, min: 1, max: 65535, integer: true }) ?? 0,
      };
    case "aurora":
      return {
        ...common,
        kind: "aurora",
        role: str("role", checkAuroraName),
        environment: str("environment", checkAuroraName),
        job: str("job", checkAuroraName),
        zkServers: str("zk_servers", checkZkServers),
        announcerServersetPath: opt("announcer_serverset_path", checkZnode) ?? "/aurora/",
        endpoint: opt("endpoint", checkName),
        zkMemberPrefix: opt("zk_member_prefix", checkName) ?? "member_",
      };
    case "serverset":
      return {
        ...common,
        kind: "serverset",
        zkPath: str("path", checkZnode),
        zkServers: str("zk_servers", checkZkServers),
        endpoint: opt("endpoint", checkName),
        zkMemberPrefix: opt("zk_member_prefix", checkName) ?? "member_",
      };
    case "mesos_master":
      return {
        ...common,
        kind: "mesos_master",
        mesosMasterPath: str("mesos_master_path", checkZnode),
        zkServers: str("zk_servers", checkZkServers),
      };
    case "api":
      return {
        ...common,
        kind: "api",
        name: str("name"),
        sourceWhitelist: w.stringList(
          o,
          "source_whitelist",
          path,
          false,
          (s) =>
            findClass(w.classes.sources, s)
              ? undefined
              : `unknown source class ${JSON.stringify(s)}`,
        ) ?? [],
      };
  }
}

function parseSources(w: Walker, o: Json, key: string, path: string, required: boolean) {
  return (w.list(o, key, path, required) ?? [])
    .map((s, i) => parseSource(w, s, `${join(path, key)}[${i}]`))
    .filter((s) => s !== undefined);
}

function parsePools(w: Walker, o: Json, path: string, slug: string): PoolsConfig {
  return {
    path,
    slug,
    sources: parseSources(w, o, "sources", path, true),
    overflowSources: parseSources(w, o, "overflow_sources", path, false),
    overflowThresholdPct: w.number(o, "overflow_threshold_pct", path, { min: 0, max: 100 }),
  };
}

const ROUTE_KEYS = [
  "locations",
  "sources",
  "empty_endpoint_status_code",
  "overflow_sources",
  "overflow_threshold_pct",
];
const STREAM_KEYS = ["sources", "overflow_sources", "overflow_threshold_pct"];
const SERVER_KEYS = ["hosts", "ports", "healthcheck_route", "context", "routes", "streams"];

function parseRoute(w: Walker, raw: unknown, path: string, serverSlug: string, i: number) {
  const o = w.object(raw, path);
  if (!o) return undefined;
  w.keys(o, path, ROUTE_KEYS);
  const locations = w.stringList(o, "locations", path, true, checkLocation) ?? [];
  const route: RouteConfig = {
    ...parsePools(w, o, path, `${serverSlug}_r${i}_${slugPart(locations[0] ?? "")}`),
    locations,
    emptyEndpointStatusCode: w.number(o, "empty_endpoint_status_code", path, {
      def: 503,
      min: 100,
      max: 599,
      integer: true,
    }) ?? 503,
  };
  return route;
}

function parseStream(w: Walker, raw: unknown, path: string, serverSlug: string, i: number) {
  const o = w.object(raw, path);
  if (!o) return undefined;
  w.keys(o, path, STREAM_KEYS, {
    locations: "only routes (HTTP) have locations",
    empty_endpoint_status_code: "only routes (HTTP) answer a status code",
  });
  const stream: StreamConfig = parsePools(w, o, path, `${serverSlug}_t${i}`);
  return stream;
}

/** nginx refuses a server with the same location twice; say where both are. */
function checkDuplicateLocations(
  w: Walker,
  path: string,
  healthcheckRoute: string | undefined,
  context: Context,
  routes: readonly RouteConfig[],
): void {
  const seen = new Map<string, string>();
  const add = (loc: string, where: string) => {
    const key = locationKey(loc);
    const first = seen.get(key);
    if (first) w.fail(where, `duplicate location "${key}", also at ${first}`);
    else seen.set(key, where);
  };
  if (healthcheckRoute) add(`= ${healthcheckRoute}`, join(path, "healthcheck_route"));
  const blacklist = context.location_blacklist;
  if (Array.isArray(blacklist)) {
    blacklist.forEach((l, i) => {
      if (typeof l === "string" && LOCATION.test(l)) {
        add(l, `${path}.context.location_blacklist[${i}]`);
      }
    });
  }
  for (const r of routes) r.locations.forEach((l, i) => add(l, `${r.path}.locations[${i}]`));
}

const isPresent = (v: unknown) => v !== undefined && v !== null && !isEmptyList(v);
const isEmptyList = (v: unknown) => Array.isArray(v) && v.length === 0;

function parseServer(
  w: Walker,
  raw: unknown,
  path: string,
  uniqueSlug: (base: string) => string,
): ServerConfig | undefined {
  const o = w.object(raw, path);
  if (!o) return;
  w.keys(o, path, SERVER_KEYS);
  const hosts = w.stringList(
    o,
    "hosts",
    path,
    false,
    (s) =>
      SERVER_NAME.test(s)
        ? undefined
        : `expected a server name like "example.com", "*.example.com" or "default", got ${
          JSON.stringify(s)
        }`,
  ) ?? [];
  const ports: number[] = [];
  (w.list(o, "ports", path, true) ?? []).forEach((raw, i) => {
    const p = `${join(path, "ports")}[${i}]`;
    const port = w.numberValue(raw, p, { required: true, min: 1, max: 65535, integer: true });
    if (port === undefined) return;
    if (ports.includes(port)) w.fail(p, `port ${port} is listed twice`);
    else ports.push(port);
  });
  const healthcheckRoute = w.string(
    o,
    "healthcheck_route",
    path,
    false,
    (s) =>
      PLAIN_PATH.test(s)
        ? undefined
        : `expected a path like "/healthcheck" (answered 200 by nginx), got ${JSON.stringify(s)}`,
  );
  const context = w.context(o, path, true);
  const hasRoutes = isPresent(o.routes);
  const hasStreams = isPresent(o.streams);
  if (hasRoutes && hasStreams) {
    w.fail(path, "has both routes and streams; a server is either HTTP (routes) or TCP (streams)");
  } else if (!hasRoutes && !hasStreams) {
    w.fail(path, "needs routes (HTTP) or streams (TCP), a non-empty list");
  } else if (hasStreams && healthcheckRoute !== undefined) {
    w.fail(join(path, "healthcheck_route"), "only HTTP servers (routes) can answer a health check");
  }
  const slug = uniqueSlug(serverSlug(hosts, ports));
  const routes = (hasRoutes ? w.list(o, "routes", path, true) ?? [] : [])
    .map((r, i) => parseRoute(w, r, `${path}.routes[${i}]`, slug, i))
    .filter((r) => r !== undefined);
  const streams = (hasStreams && !hasRoutes ? w.list(o, "streams", path, true) ?? [] : [])
    .map((s, i) => parseStream(w, s, `${path}.streams[${i}]`, slug, i))
    .filter((s) => s !== undefined);
  checkDuplicateLocations(w, path, healthcheckRoute, context, routes);
  return { path, slug, hosts, ports, healthcheckRoute, context, routes, streams };
}

/** The names nginx compares: `default` and no hosts both render as `_`. */
function serverNames(s: ServerConfig): string[] {
  const names = s.hosts.map((h) => (h === "default" ? "_" : h.toLowerCase()));
  return names.length ? names : ["_"];
}

/** Two servers may share a port only for name-based virtual hosting over HTTP. */
function checkPortClashes(w: Walker, servers: readonly ServerConfig[]): void {
  for (let i = 0; i < servers.length; i++) {
    for (let j = i + 1; j < servers.length; j++) {
      const a = servers[i], b = servers[j];
      for (const port of a.ports.filter((p) => b.ports.includes(p))) {
        let why: string | undefined;
        if (a.streams.length || b.streams.length) {
          why = "a TCP (streams) server cannot share its port";
        } else if (serverNames(a).some((h) => serverNames(b).includes(h))) {
          why = "both answer the same host names";
        } else if (isTrue(a.context.default_server) && isTrue(b.context.default_server)) {
          why = "both are default_server";
        }
        if (why) w.fail(`${b.path}.ports`, `port ${port} is also used by ${a.path}: ${why}`);
      }
    }
  }
}

const TOP_KEYS = [
  "backend",
  "context",
  "servers",
  "configuration_file",
  "nginx_pid_path",
  "stats_port",
  "nginx_binary",
  "nginx_prefix",
];

function checkFilePath(s: string): string | undefined {
  return UNSAFE.test(s) || /\s/.test(s)
    ? `expected a file path without spaces, ${UNSAFE_WHAT}, got ${JSON.stringify(s)}`
    : undefined;
}

function parseNginxOptions(w: Walker, o: Json, servers: readonly ServerConfig[]): NginxOptions {
  const statsPort = w.number(o, "stats_port", "", { min: 1, max: 65535, integer: true });
  const user = statsPort === undefined
    ? undefined
    : servers.find((s) => s.ports.includes(statsPort));
  if (user) w.fail("stats_port", `port ${statsPort} is also used by ${user.path}`);
  return {
    configurationFile: w.string(o, "configuration_file", "", false, checkFilePath) ??
      "/etc/aurproxy/nginx/nginx.conf",
    pidPath: w.string(o, "nginx_pid_path", "", false, checkFilePath) ?? "/var/run/nginx.pid",
    statsPort,
    binary: w.string(o, "nginx_binary", "", false) ?? "nginx",
    prefix: w.string(o, "nginx_prefix", "", false),
  };
}

/**
 * Validates a parsed JSON config; throws {@linkcode UsageErrors} listing every problem.
 *
 * @example
 * ```ts
 * const config = parseConfig(JSON.parse(text));
 * config.servers[0].routes[0].slug; // "s_default_8080_r0_root"
 * // A build that cannot run Mesos sources:
 * parseConfig(raw, { classes: markUnsupported(DEFAULT_CLASSES, "mesos_master") });
 * ```
 */
export function parseConfig(raw: unknown, options: ParseOptions = {}): ProxyConfig {
  const w = new Walker(options.classes ?? DEFAULT_CLASSES);
  const o = w.object(raw, "(config)");
  if (!o) throw new UsageErrors(w.errors);
  w.keys(o, "", "template_file" in o ? [...TOP_KEYS, "template_file"] : TOP_KEYS);
  if ("template_file" in o) {
    w.fail("template_file", "not supported: the nginx template is built in");
  }
  const backend = o.backend;
  if (backend === undefined) w.fail("backend", 'required, "nginx"');
  else if (backend !== "nginx") w.fail("backend", `expected "nginx", got ${describe(backend)}`);
  const context = w.context(o, "", false);
  const slugs = new Set<string>();
  const uniqueSlug = (base: string) => {
    let slug = base;
    for (let n = 2; slugs.has(slug); n++) slug = `${base}_${n}`;
    slugs.add(slug);
    return slug;
  };
  const servers = (w.list(o, "servers", "", true) ?? [])
    .map((s, i) => parseServer(w, s, `servers[${i}]`, uniqueSlug))
    .filter((s) => s !== undefined);
  checkPortClashes(w, servers);
  const nginx = parseNginxOptions(w, o, servers);
  if (w.errors.length) throw new UsageErrors(w.errors);
  return { backend: "nginx", context, servers, nginx };
}
