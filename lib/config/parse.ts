/**
 * Validates the JSON of `--config` into the typed model of `./types.ts`. Every problem
 * is collected in one pass and thrown together as {@linkcode UsageErrors}, each naming
 * its JSON path (`servers[0].routes[1].locations`) and what was expected. Nothing starts
 * before the whole config is valid.
 *
 * @module
 */

import { isValidHost, isValidPort } from "../endpoint.ts";
import { UsageError, UsageErrors } from "../errors.ts";
import { suggest } from "../cli/suggest.ts";
import { ADJUSTER_CLASSES, resolveClass, SOURCE_CLASSES } from "./classes.ts";
import type {
  AdjusterConfig,
  Context,
  NginxOptions,
  ProxyConfig,
  RampCurve,
  RouteConfig,
  ServerConfig,
  SourceConfig,
  StreamConfig,
} from "./types.ts";

type Json = Record<string, unknown>;

/** Characters that could end or open an nginx directive, block, comment or variable. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const UNSAFE = /[;{}"'\\#$`\x00-\x1f\x7f]/;
const LOCATION = /^(=\s*|\^~\s*)?\/[^\s;{}"'#\\$`]*$/;
const SERVER_NAME = /^(default|_|(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;

/** Collects errors while walking the JSON. */
class Walker {
  readonly errors: UsageError[] = [];

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

  /** Reports keys not in `allowed`, with a did-you-mean. */
  keys(o: Json, path: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (allowed.includes(k)) continue;
      const hint = suggest(k, allowed);
      this.fail(join(path, k), `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`);
    }
  }

  string(o: Json, key: string, path: string, required: boolean): string | undefined {
    const v = o[key];
    const p = join(path, key);
    if (v === undefined || v === null) {
      return required ? this.fail(p, "required, a string") : undefined;
    }
    if (typeof v !== "string" || v === "") {
      return this.fail(p, `expected a non-empty string, got ${describe(v)}`);
    }
    return v;
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
      : typeof v === "string" && v.trim() !== ""
      ? Number(v)
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

  stringList(
    o: Json,
    key: string,
    path: string,
    required: boolean,
    check?: (s: string) => string | undefined,
  ): string[] | undefined {
    const v = o[key];
    const p = join(path, key);
    const what = "a non-empty list of strings";
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

  /** Free-form context, but no string in it may carry nginx syntax. */
  context(o: Json, key: string, path: string): Context {
    const v = o[key];
    if (v === undefined || v === null) return {};
    const c = this.object(v, join(path, key));
    if (!c) return {};
    const visit = (x: unknown, p: string) => {
      if (typeof x === "string" && UNSAFE.test(x)) {
        this.fail(
          p,
          `unsafe characters in ${
            JSON.stringify(x)
          }: context values are rendered into nginx.conf and may not contain ; { } quotes # $ \\ or control characters`,
        );
      } else if (Array.isArray(x)) x.forEach((y, i) => visit(y, `${p}[${i}]`));
      else if (x && typeof x === "object") {
        for (const [k, y] of Object.entries(x)) visit(y, join(p, k));
      }
    };
    visit(c, join(path, key));
    if (c.location_blacklist !== undefined) {
      this.stringList(c, "location_blacklist", join(path, key), false, checkLocation);
    }
    return c;
  }
}

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
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function isDefined<T>(x: T | undefined): x is T {
  return x !== undefined;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function checkLocation(s: string): string | undefined {
  return LOCATION.test(s)
    ? undefined
    : `expected an nginx prefix location like "/api" or "= /exact", got ${JSON.stringify(s)}`;
}

function slugPart(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "root";
}

/** Validates a `host:port,host:port` connect string. */
function checkZkServers(w: Walker, s: string | undefined, path: string): void {
  if (s === undefined) return;
  for (const part of s.split(",")) {
    const m = /^\s*([^\s:]+):(\d+)\s*$/.exec(part);
    if (!m || !isValidHost(m[1]) || !isValidPort(Number(m[2]))) {
      w.fail(path, `expected "host:port,host:port", bad entry ${JSON.stringify(part)}`);
      return;
    }
  }
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
  const r = resolveClass(ADJUSTER_CLASSES, cls);
  if (!r.ok) return w.fail(join(path, "share_adjuster_class"), r.reason);
  w.keys(o, path, ["share_adjuster_class", ...ADJUSTER_KEYS[r.kind]]);
  switch (r.kind) {
    case "http_health": {
      const route = w.string(o, "route", path, true);
      if (
        route !== undefined && (!route.startsWith("/") || UNSAFE.test(route) || /\s/.test(route))
      ) {
        w.fail(
          join(path, "route"),
          `expected an HTTP path like "/health", got ${JSON.stringify(route)}`,
        );
      }
      const interval = w.number(o, "interval", path, { def: 3, above: 0 });
      const timeout = w.number(o, "timeout", path, { def: 2, above: 0 });
      if (interval !== undefined && timeout !== undefined && timeout > interval) {
        w.fail(join(path, "timeout"), `must not exceed interval (${interval}), got ${timeout}`);
      }
      const method = o.http_method === undefined ? "GET" : String(o.http_method).toUpperCase();
      if (method !== "GET" && method !== "HEAD") {
        w.fail(join(path, "http_method"), `expected GET or HEAD, got ${describe(o.http_method)}`);
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
        portName: w.string(o, "port_name", path, false),
      };
    }
    case "ramp": {
      const curve = o.curve === undefined ? "linear" : o.curve;
      if (curve !== "linear" && curve !== "quadratic") {
        w.fail(join(path, "curve"), `expected "linear" or "quadratic", got ${describe(o.curve)}`);
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
  const r = resolveClass(SOURCE_CLASSES, cls);
  if (!r.ok) return w.fail(join(path, "source_class"), r.reason);
  w.keys(o, path, ["source_class", "share_adjusters", ...SOURCE_KEYS[r.kind]]);
  const shareAdjusters = (w.list(o, "share_adjusters", path, false) ?? [])
    .map((a, i) => parseAdjuster(w, a, `${path}.share_adjusters[${i}]`))
    .filter((a): a is AdjusterConfig => a !== undefined);
  const zk = () => {
    const zkServers = w.string(o, "zk_servers", path, true);
    checkZkServers(w, zkServers, join(path, "zk_servers"));
    return zkServers ?? "";
  };
  const znode = (key: string, required: boolean, def?: string) => {
    const v = w.string(o, key, path, required) ?? def;
    // deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
    if (v !== undefined && (/[\s\x00-\x1f\x7f]/.test(v) || v.replace(/\/+/g, "") === "")) {
      w.fail(join(path, key), `expected a ZooKeeper path like "/aurora", got ${JSON.stringify(v)}`);
    }
    return v ?? "";
  };
  const common = { path, shareAdjusters };
  switch (r.kind) {
    case "static": {
      const host = w.string(o, "host", path, true);
      if (host !== undefined && !isValidHost(host)) {
        w.fail(
          join(path, "host"),
          `expected a hostname or IP address, got ${JSON.stringify(host)}`,
        );
      }
      return {
        ...common,
        kind: "static",
        name: w.string(o, "name", path, true) ?? "",
        host: host ?? "",
        port: w.number(o, "port", path, { required: true, min: 1, max: 65535, integer: true }) ?? 0,
      };
    }
    case "aurora":
      return {
        ...common,
        kind: "aurora",
        role: w.string(o, "role", path, true) ?? "",
        environment: w.string(o, "environment", path, true) ?? "",
        job: w.string(o, "job", path, true) ?? "",
        zkServers: zk(),
        announcerServersetPath: znode("announcer_serverset_path", false, "/aurora/"),
        endpoint: w.string(o, "endpoint", path, false),
        zkMemberPrefix: w.string(o, "zk_member_prefix", path, false) ?? "member_",
      };
    case "serverset":
      return {
        ...common,
        kind: "serverset",
        zkPath: znode("path", true),
        zkServers: zk(),
        endpoint: w.string(o, "endpoint", path, false),
        zkMemberPrefix: w.string(o, "zk_member_prefix", path, false) ?? "member_",
      };
    case "mesos_master":
      return {
        ...common,
        kind: "mesos_master",
        mesosMasterPath: znode("mesos_master_path", true),
        zkServers: zk(),
      };
    case "api":
      return {
        ...common,
        kind: "api",
        name: w.string(o, "name", path, true) ?? "",
        sourceWhitelist: w.stringList(o, "source_whitelist", path, false) ?? [],
      };
  }
}

function parseSources(
  w: Walker,
  o: Json,
  key: string,
  path: string,
  required: boolean,
): SourceConfig[] {
  return (w.list(o, key, path, required) ?? [])
    .map((s, i) => parseSource(w, s, `${join(path, key)}[${i}]`))
    .filter((s): s is SourceConfig => s !== undefined);
}

function parsePools(w: Walker, o: Json, path: string, slug: string) {
  return {
    path,
    slug,
    sources: parseSources(w, o, "sources", path, true),
    overflowSources: parseSources(w, o, "overflow_sources", path, false),
    overflowThresholdPct: w.number(o, "overflow_threshold_pct", path, { min: 0, max: 100 }),
  };
}

function parseServer(w: Walker, raw: unknown, path: string): ServerConfig | undefined {
  const o = w.object(raw, path);
  if (!o) return;
  w.keys(o, path, ["hosts", "ports", "healthcheck_route", "context", "routes", "streams"]);
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
  const ports = (w.list(o, "ports", path, true) ?? [])
    .map((p, i) =>
      w.numberValue(p, `${join(path, "ports")}[${i}]`, {
        required: true,
        min: 1,
        max: 65535,
        integer: true,
      })
    )
    .filter((p): p is number => p !== undefined);
  const healthcheckRoute = w.string(o, "healthcheck_route", path, false);
  if (healthcheckRoute !== undefined) {
    const bad = checkLocation(healthcheckRoute);
    if (bad) w.fail(join(path, "healthcheck_route"), bad);
  }
  const context = w.context(o, "context", path);
  const hasRoutes = o.routes !== undefined && o.routes !== null;
  const hasStreams = o.streams !== undefined && o.streams !== null;
  if (hasRoutes && hasStreams) {
    w.fail(path, "has both routes and streams; a server is either HTTP (routes) or TCP (streams)");
  } else if (!hasRoutes && !hasStreams) {
    w.fail(path, "needs routes (HTTP) or streams (TCP), a non-empty list");
  }
  const slug = `s_${hosts.map(slugPart).join("_") || "any"}_${ports.join("_")}`;
  const routes: readonly RouteConfig[] = (hasRoutes ? w.list(o, "routes", path, true) ?? [] : [])
    .map(
      (r, i) => {
        const rp = `${path}.routes[${i}]`;
        const ro = w.object(r, rp);
        if (!ro) return undefined;
        w.keys(ro, rp, [
          "locations",
          "sources",
          "empty_endpoint_status_code",
          "overflow_sources",
          "overflow_threshold_pct",
        ]);
        const locations = w.stringList(ro, "locations", rp, true, checkLocation) ?? [];
        return {
          ...parsePools(w, ro, rp, `${slug}_r${i}_${slugPart(locations[0] ?? "")}`),
          locations,
          emptyEndpointStatusCode: w.number(ro, "empty_endpoint_status_code", rp, {
            def: 503,
            min: 100,
            max: 599,
            integer: true,
          }) ?? 503,
        };
      },
    ).filter(isDefined);
  const streams: readonly StreamConfig[] =
    (hasStreams ? w.list(o, "streams", path, true) ?? [] : []).map(
      (s, i) => {
        const sp = `${path}.streams[${i}]`;
        const so = w.object(s, sp);
        if (!so) return undefined;
        w.keys(so, sp, ["sources", "overflow_sources", "overflow_threshold_pct"]);
        return parsePools(w, so, sp, `${slug}_t${i}`);
      },
    ).filter(isDefined);
  return { path, slug, hosts, ports, healthcheckRoute, context, routes, streams };
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

const isTrue = (v: unknown) => v === true || v === "True" || v === "true";

/** Two servers may share a port only for name-based virtual hosting over HTTP. */
function checkPortClashes(w: Walker, servers: readonly ServerConfig[]): void {
  for (let i = 0; i < servers.length; i++) {
    for (let j = i + 1; j < servers.length; j++) {
      const a = servers[i], b = servers[j];
      for (const port of a.ports.filter((p) => b.ports.includes(p))) {
        let why: string | undefined;
        if (a.streams.length || b.streams.length) {
          why = "a TCP (streams) server cannot share its port";
        } else if (
          a.hosts.some((h) => b.hosts.includes(h)) || (!a.hosts.length && !b.hosts.length)
        ) {
          why = "both answer the same host names";
        } else if (isTrue(a.context.default_server) && isTrue(b.context.default_server)) {
          why = "both are default_server";
        }
        if (why) w.fail(`${b.path}.ports`, `port ${port} is also used by ${a.path}: ${why}`);
      }
    }
  }
}

/**
 * Validates a parsed JSON config.
 *
 * @example
 * ```ts
 * const config = parseConfig(JSON.parse(text)); // throws UsageErrors listing every problem
 * ```
 */
export function parseConfig(raw: unknown): ProxyConfig {
  const w = new Walker();
  const o = w.object(raw, "(config)");
  if (!o) throw new UsageErrors(w.errors);
  w.keys(o, "", "template_file" in o ? [...TOP_KEYS, "template_file"] : TOP_KEYS);
  if ("template_file" in o) {
    w.fail("template_file", "not supported: the nginx template is built in");
  }
  const backend = o.backend;
  if (backend === undefined) w.fail("backend", 'required, "nginx"');
  else if (backend !== "nginx") w.fail("backend", `expected "nginx", got ${describe(backend)}`);
  const context = w.context(o, "context", "");
  const servers = (w.list(o, "servers", "", true) ?? [])
    .map((s, i) => parseServer(w, s, `servers[${i}]`))
    .filter((s): s is ServerConfig => s !== undefined);
  checkPortClashes(w, servers);
  const nginx: NginxOptions = {
    configurationFile: w.string(o, "configuration_file", "", false) ??
      "/etc/aurproxy/nginx/nginx.conf",
    pidPath: w.string(o, "nginx_pid_path", "", false) ?? "/var/run/nginx.pid",
    statsPort: w.number(o, "stats_port", "", { min: 1, max: 65535, integer: true }),
    binary: w.string(o, "nginx_binary", "", false) ?? "nginx",
    prefix: w.string(o, "nginx_prefix", "", false),
  };
  for (
    const [k, v] of [["configuration_file", nginx.configurationFile], [
      "nginx_pid_path",
      nginx.pidPath,
    ]]
  ) {
    if (UNSAFE.test(v) || /\s/.test(v)) w.fail(k, `unsafe characters in path ${JSON.stringify(v)}`);
  }
  if (w.errors.length) throw new UsageErrors(w.errors);
  return { backend: "nginx", context, servers, nginx };
}
