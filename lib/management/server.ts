/**
 * The management port: the built-in routes (`builtin_routes.ts`: health, Aurora's
 * lifecycle, metrics, status) and the routes features mounted in a
 * {@linkcode RouteRegistry} (the API source), behind the request guard
 * (`request_guard.ts`), served by the hardened HTTP server (`http_server.ts`: deadlines,
 * a connection cap, accept errors survived).
 *
 * @module
 */

import { type Clock, systemClock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthProbe } from "../model/health.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import type { DashboardFeed } from "./dashboard/model.ts";
import { mountBuiltins, type Refuse, text } from "./builtin_routes.ts";
import { type HttpHandler, type HttpLimits, startHttpServer } from "./http_server.ts";
import type { IpNetwork } from "./ip_network.ts";
import { LogThrottle } from "./log_throttle.ts";
import { crossOriginRefusal } from "./request_guard.ts";
import { RouteRegistry } from "./routes.ts";

export interface ManagementOptions {
  readonly hostname: string;
  readonly port: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly health: readonly HealthProbe[];
  /** The latest snapshot, or undefined before the first one. */
  readonly snapshot: () => ProxySnapshot | undefined;
  /** Runs the shutdown sequence; `abort` is true for /abortabortabort. */
  readonly shutdown: (reason: string, abort: boolean) => void;
  /**
   * What the dashboard (`/status`) shows beside the snapshot: change log, sources,
   * version, uptime. Without it, the snapshot and health only.
   */
  readonly dashboard?: DashboardFeed;
  /** Called before each metrics scrape so gauges are fresh. */
  readonly refreshMetrics?: () => void | Promise<void>;
  /**
   * Routes features mounted (the API source, ...), added before the server starts. One
   * that clashes with a built-in route (or another feature's) fails the start.
   */
  readonly routes?: RouteRegistry;
  /**
   * Networks allowed to POST the lifecycle routes besides loopback
   * (`--management-lifecycle-allow`). Default none.
   */
  readonly lifecycleAllow?: readonly IpNetwork[];
  /** Timeouts and the connection cap; default `DEFAULT_LIMITS` of `http_server.ts`. */
  readonly limits?: HttpLimits;
  /** For deadlines and spacing out log lines. Default the system clock. */
  readonly clock?: Clock;
}

const REFUSED = [
  "management_requests_refused_total",
  "Management requests refused with 403, by reason (origin, peer, proxied).",
] as const;

/** Counts a refusal, logs it (at most once per 10 s, so a flood cannot fill the log), 403. */
function refusalReporter(o: ManagementOptions): Refuse {
  const throttle = new LogThrottle(o.clock ?? systemClock, 10_000);
  return (r, req, path, peer) => {
    o.metrics.inc(REFUSED[0], REFUSED[1], { reason: r.reason });
    const n = throttle.take();
    if (n !== undefined) {
      const more = n ? ` (${n} more refused since the last line)` : "";
      o.logger.warn(`refused ${req.method} ${path} from ${peer}: ${r.message}${more}`);
    }
    return text(`forbidden: ${r.message}\n`, 403);
  };
}

/** Answers one request from `peer` (the connecting IP address). */
export type ManagementHandler = HttpHandler;

/**
 * Builds the request handler (separate from listening, so tests can call it directly).
 * Throws when a feature's route clashes with another route.
 */
export function managementHandler(o: ManagementOptions): ManagementHandler {
  const routes = new RouteRegistry();
  const refuse = refusalReporter(o);
  mountBuiltins(routes, o, refuse);
  if (o.routes) routes.addAll(o.routes);
  return async (req, peer) => {
    const url = new URL(req.url);
    // Before any route: a page of another origin acts on nothing here.
    const foreign = crossOriginRefusal(req.headers);
    if (foreign) return refuse(foreign, req, url.pathname, peer);
    const handler = routes.match(req.method, url.pathname);
    return handler ? await handler(req, url, { peer }) : text("not found\n", 404);
  };
}

/** A running management server. */
export interface ManagementServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `hostname:port`; rejects when it cannot (the port is taken).
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const srv = await startManagementServer({
 *   hostname: "127.0.0.1",
 *   port: 0, // any free port
 *   logger: memoryLogger(),
 *   metrics: new MetricsRegistry("aurproxy"),
 *   health: [() => ({ level: "ok", lines: [] })],
 *   snapshot: () => undefined,
 *   shutdown: (reason) => console.log(`asked to stop: ${reason}`),
 * });
 * const health = await fetch(`http://127.0.0.1:${srv.port}/health`);
 * console.log(await health.text()); // "OK"
 * await srv.close();
 * ```
 */
export function startManagementServer(o: ManagementOptions): Promise<ManagementServer> {
  try {
    const server = startHttpServer({
      hostname: o.hostname,
      port: o.port,
      logger: o.logger,
      metrics: o.metrics,
      limits: o.limits,
      clock: o.clock,
    }, managementHandler(o));
    o.logger.info(`management port listening on ${server.hostname}:${server.port}`);
    return Promise.resolve({ port: server.port, close: () => server.close() });
  } catch (err) {
    return Promise.reject(err);
  }
}
