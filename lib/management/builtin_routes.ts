/**
 * The management port's own routes: health (`/health`, `/health/details`), Aurora's
 * lifecycle (`POST /quitquitquit`, `/abortabortabort`, for allowed peers only: see
 * `request_guard.ts`), metrics (`/metrics`, `/metrics.json`) and the desired proxy state
 * (`/status.json`) and the dashboard (`/status`, `dashboard/`). They read state through the functions in
 * {@linkcode ManagementOptions}; none holds any.
 *
 * @module
 */

import { versionLine } from "../version.ts";
import { mountMetricsRoutes } from "./metrics_routes.ts";
import { combineHealth, healthBody } from "./health.ts";
import { lifecycleNetworks, lifecycleRefusal, type Refusal } from "./request_guard.ts";
import type { RouteRegistry } from "./routes.ts";
import type { ManagementOptions } from "./server.ts";
import { mountDashboard } from "./dashboard/routes.ts";
import { systemClock } from "../clock.ts";
import { VERSION } from "../version.ts";

/** A plain-text response. */
export const text = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });

/** Answers a refused request (403), counting and logging it. */
export type Refuse = (r: Refusal, req: Request, path: string, peer: string) => Response;

/** Mounts the built-in routes on `routes`. */
export function mountBuiltins(
  routes: RouteRegistry,
  o: ManagementOptions,
  refuse: Refuse,
): void {
  const networks = lifecycleNetworks(o.lifecycleAllow ?? []);
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
      // The level stays the first line (tools read it); the version goes after the reasons.
      const lines = [h.level.toUpperCase(), ...h.lines, `version: ${versionLine()}`];
      return text(`${lines.join("\n")}\n`);
    },
  });
  for (const path of ["/quitquitquit", "/abortabortabort"]) {
    const abort = path === "/abortabortabort";
    routes.add("lifecycle", {
      method: "POST",
      path,
      handler: (req, _url, { peer }) => {
        const refusal = lifecycleRefusal(req.headers, peer, networks);
        if (refusal) return refuse(refusal, req, path, peer);
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
  mountDashboard(routes, {
    snapshot: o.snapshot,
    health: () => combineHealth(o.health),
    feed: o.dashboard,
    version: o.dashboard?.version ?? VERSION,
    clock: o.clock ?? systemClock,
  });
}

function oneLine(s: string): string {
  // Header values cannot carry newlines or non-ASCII safely.
  return s.replace(/[^\x20-\x7e]/g, " ").slice(0, 1000);
}
