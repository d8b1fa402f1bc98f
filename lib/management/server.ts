/**
 * The management port: Aurora lifecycle (`/health`, `/quitquitquit`, `/abortabortabort`),
 * metrics (`/metrics` Prometheus text, `/metrics.json`), the desired proxy state
 * (`/status.json`, `/status` as a page) and the routes features mounted in a
 * {@linkcode RouteRegistry} (the API source). All handlers read state through the
 * functions passed in; none holds any.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import { combineHealth, healthBody } from "./health.ts";
import { renderStatusPage } from "./status_page.ts";
import type { HealthProbe } from "../model/health.ts";
import { RouteRegistry } from "./routes.ts";
import { mountMetricsRoutes } from "./metrics_routes.ts";

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
  /** Called before each metrics scrape so gauges are fresh. */
  readonly refreshMetrics?: () => void | Promise<void>;
  /**
   * Routes features mounted (the API source, ...), added before the server starts. One
   * that clashes with a built-in route (or another feature's) fails the start.
   */
  readonly routes?: RouteRegistry;
}

const text = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });

/** The management port's own routes: health, Aurora's lifecycle, metrics and status. */
function mountBuiltins(routes: RouteRegistry, o: ManagementOptions): void {
  routes.add("health", {
    method: ["GET", "HEAD"],
    path: "/health",
    handler: () => {
      const h = combineHealth(o.health);
      const headers: Record<string, string> = { "x-aurproxy-health": h.level };
      if (h.level !== "ok") headers["x-aurproxy-health-detail"] = oneLine(h.lines.join("; "));
      return text(healthBody(h), 200, headers);
    },
  });
  routes.add("health", {
    method: "GET",
    path: "/health/details",
    handler: () => {
      const h = combineHealth(o.health);
      return text(`${h.level.toUpperCase()}\n${h.lines.join("\n")}\n`);
    },
  });
  for (const path of ["/quitquitquit", "/abortabortabort"]) {
    const abort = path === "/abortabortabort";
    routes.add("lifecycle", {
      method: "POST",
      path,
      handler: () => {
        // Answer first; the shutdown sequence runs after the response is on its way.
        setTimeout(() => o.shutdown(path.slice(1), abort), 0);
        return text("OK");
      },
    });
    routes.add("lifecycle", {
      method: "GET",
      path,
      handler: () => text("use POST\n", 405, { allow: "POST" }),
    });
  }
  mountMetricsRoutes(routes, { metrics: o.metrics, refresh: o.refreshMetrics });
  routes.add("status", {
    method: "GET",
    path: "/status.json",
    handler: () => {
      const snap = o.snapshot();
      return snap ? json(snap) : json({ error: "no snapshot yet" }, 503);
    },
  });
  for (const path of ["/status", "/"]) {
    routes.add("status", {
      method: "GET",
      path,
      handler: () =>
        new Response(renderStatusPage(o.snapshot(), combineHealth(o.health)), {
          headers: { "content-type": "text/html; charset=utf-8" },
        }),
    });
  }
}

/**
 * Builds the request handler (separate from listening, so tests can call it directly).
 * Throws when a feature's route clashes with another route.
 */
export function managementHandler(
  o: ManagementOptions,
): (req: Request) => Promise<Response> {
  const routes = new RouteRegistry();
  mountBuiltins(routes, o);
  if (o.routes) routes.addAll(o.routes);
  return async (req) => {
    const url = new URL(req.url);
    const handler = routes.match(req.method, url.pathname);
    return handler ? await handler(req, url) : text("not found\n", 404);
  };
}

function oneLine(s: string): string {
  // Header values cannot carry newlines or non-ASCII safely.
  return s.replace(/[^\x20-\x7e]/g, " ").slice(0, 1000);
}

/** A running management server. */
export interface ManagementServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `hostname:port`.
 *
 * @example
 * ```ts
 * const srv = startManagementServer({ hostname: "127.0.0.1", port: 31325, ... });
 * await srv.close();
 * ```
 */
export function startManagementServer(o: ManagementOptions): Promise<ManagementServer> {
  const ac = new AbortController();
  return new Promise((resolve, reject) => {
    try {
      const handler = managementHandler(o);
      const server = Deno.serve({
        hostname: o.hostname,
        port: o.port,
        signal: ac.signal,
        onListen: (addr) => {
          o.logger.info(`management port listening on ${addr.hostname}:${addr.port}`);
          resolve({
            port: addr.port,
            close: async () => {
              ac.abort();
              await server.finished;
            },
          });
        },
        onError: (err) => {
          o.logger.error("management request failed", err);
          return text("internal error\n", 500);
        },
      }, handler);
    } catch (err) {
      reject(err);
    }
  });
}
