/**
 * Servers and what they serve: HTTP routes (locations → pools) or TCP streams (pools),
 * never both. Each route or stream has a primary pool of sources and an optional
 * overflow pool. nginx refuses a server with the same location twice, so that is caught
 * here with both places named.
 *
 * @module
 */

import type {
  Context,
  PoolsConfig,
  RouteConfig,
  ServerConfig,
  StreamConfig,
} from "../model/config.ts";
import { MIRROR_KEYS, parseMirror } from "./mirror.ts";
import {
  asciiServerName,
  checkHealthcheckRoute,
  checkLocation,
  checkServerName,
  isLocation,
} from "./checks.ts";
import { parseContext } from "./context.ts";
import type { KindContext } from "./kind.ts";
import { serverSlug, slugPart } from "./slugs.ts";
import { parseSource } from "./sources.ts";
import type { Fields, Walker } from "./walker.ts";

/** What every server shares while parsing: the walker, the kinds, the slugs taken. */
export interface ServerContext extends KindContext {
  readonly walker: Walker;
  /** A unique slug for a base (see `slugAllocator`). */
  readonly uniqueSlug: (base: string) => string;
}

/**
 * The original read a fixed set of keys from servers, routes and streams and ignored the
 * rest, so their unknown keys are warnings (errors under `--strict`); sources and share
 * adjusters, whose keys it passed to a constructor that failed on an unknown one, stay
 * strict.
 */
const IGNORABLE = { ignorable: true } as const;

function parsePools(f: Fields, slug: string, ctx: ServerContext): PoolsConfig {
  const sources = (key: string, required: boolean) =>
    f.each(key, required, (s, p) => parseSource(ctx.walker, s, p, ctx));
  return {
    path: f.path,
    slug,
    sources: sources("sources", true),
    overflowSources: sources("overflow_sources", false),
    overflowThresholdPct: f.number("overflow_threshold_pct", { min: 0, max: 100 }),
  };
}

function parseRoute(
  raw: unknown,
  path: string,
  serverSlug: string,
  i: number,
  ctx: ServerContext,
): RouteConfig | undefined {
  const f = ctx.walker.fields(raw, path);
  if (!f) return;
  const locations = f.stringList("locations", true, checkLocation);
  const route: RouteConfig = {
    ...parsePools(f, `${serverSlug}_r${i}_${slugPart(locations[0] ?? "")}`, ctx),
    locations,
    emptyEndpointStatusCode: f.number("empty_endpoint_status_code", {
      def: 503,
      min: 100,
      max: 599,
      integer: true,
    }),
  };
  const mirror = parseMirror(f, route.slug, ctx);
  f.end({}, IGNORABLE);
  return mirror ? { ...route, mirror } : route;
}

function parseStream(
  raw: unknown,
  path: string,
  serverSlug: string,
  i: number,
  ctx: ServerContext,
): StreamConfig | undefined {
  const f = ctx.walker.fields(raw, path);
  if (!f) return;
  const stream = parsePools(f, `${serverSlug}_t${i}`, ctx);
  f.end({
    locations: "only routes (HTTP) have locations",
    empty_endpoint_status_code: "only routes (HTTP) answer a status code",
    ...Object.fromEntries(MIRROR_KEYS.map((k) => [k, "only routes (HTTP) can mirror requests"])),
  }, IGNORABLE);
  return stream;
}

/** The identity nginx gives a location: `^~ /a` and `/a` clash, `= /a` does not. */
function locationKey(s: string): string {
  const m = /^(=|\^~)? *(\/.*)$/.exec(s);
  return m?.[1] === "=" ? `= ${m[2]}` : m?.[2] ?? s;
}

/** nginx refuses a server with the same location twice; say where both are. */
function checkDuplicateLocations(
  f: Fields,
  healthcheckRoute: string | undefined,
  context: Context,
  routes: readonly RouteConfig[],
): void {
  const seen = new Map<string, string>();
  const add = (loc: string, where: string) => {
    const key = locationKey(loc);
    const first = seen.get(key);
    if (first) f.walker.fail(where, `duplicate location "${key}", also at ${first}`);
    else seen.set(key, where);
  };
  // A prefix location, as the original rendered it; `= /path` for an exact one.
  if (healthcheckRoute) add(healthcheckRoute, f.at("healthcheck_route"));
  const blacklist = context.location_blacklist;
  if (Array.isArray(blacklist)) {
    blacklist.forEach((l, i) => {
      if (typeof l === "string" && isLocation(l)) {
        add(l, `${f.path}.context.location_blacklist[${i}]`);
      }
    });
  }
  for (const r of routes) r.locations.forEach((l, i) => add(l, `${r.path}.locations[${i}]`));
}

const isPresent = (v: unknown) =>
  v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);

/** The server's listen ports: each 1-65535, none twice. */
function parsePorts(f: Fields): number[] {
  const ports: number[] = [];
  f.list("ports", true).forEach((raw, i) => {
    const p = `${f.at("ports")}[${i}]`;
    const port = f.walker.numberValue(raw, p, {
      required: true,
      min: 1,
      max: 65535,
      integer: true,
    });
    if (port === undefined) return;
    if (ports.includes(port)) f.walker.fail(p, `port ${port} is listed twice`);
    else ports.push(port);
  });
  return ports;
}

/**
 * One server object at `path`.
 *
 * @example
 * ```ts
 * import { slugAllocator } from "./slugs.ts";
 * import { Walker } from "./walker.ts";
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const ctx = { walker: new Walker(), kinds: BUILTIN_KINDS, uniqueSlug: slugAllocator() };
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const server = { ports: [8080], routes: [{ locations: ["/"], sources: [source] }] };
 * parseServer(server, "servers[0]", ctx)?.routes[0].slug; // "s_any_8080_r0_root"
 * ```
 */
export function parseServer(
  raw: unknown,
  path: string,
  ctx: ServerContext,
): ServerConfig | undefined {
  const f = ctx.walker.fields(raw, path);
  if (!f) return;
  // nginx compares the Host header, which carries international names in IDNA form.
  const hosts = f.stringList("hosts", false, checkServerName).map(asciiServerName);
  const ports = parsePorts(f);
  const healthcheckRoute = f.string("healthcheck_route", checkHealthcheckRoute);
  const context = parseContext(f, true);
  const hasRoutes = isPresent(f.raw("routes"));
  const hasStreams = isPresent(f.raw("streams"));
  if (hasRoutes && hasStreams) {
    f.fail("", "has both routes and streams; a server is either HTTP (routes) or TCP (streams)");
  } else if (!hasRoutes && !hasStreams) {
    f.fail("", "needs routes (HTTP) or streams (TCP), a non-empty list");
  } else if (hasStreams && healthcheckRoute !== undefined) {
    ctx.walker.ignore(
      f.at("healthcheck_route"),
      "only HTTP servers (routes) can answer a health check",
    );
  }
  const slug = ctx.uniqueSlug(serverSlug(hosts, ports));
  const routes = hasRoutes
    ? f.each("routes", true, (r, p, i) => parseRoute(r, p, slug, i, ctx))
    : [];
  const streams = hasStreams && !hasRoutes
    ? f.each("streams", true, (s, p, i) => parseStream(s, p, slug, i, ctx))
    : [];
  checkDuplicateLocations(f, healthcheckRoute, context, routes);
  f.end({}, IGNORABLE);
  return {
    path,
    slug,
    hosts,
    ports,
    healthcheckRoute: hasRoutes ? healthcheckRoute : undefined,
    context,
    routes,
    streams,
  };
}
