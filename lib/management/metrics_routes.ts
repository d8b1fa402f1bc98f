/**
 * The metrics routes of the management port: `/metrics` for Prometheus (text format 0.0.4,
 * or OpenMetrics 1.0.0 when the scraper's `Accept` asks for it; `HEAD` answers the same
 * headers) and `/metrics.json`, the original aurproxy's flat object of dotted names.
 *
 * @module
 */

import {
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  wantsOpenMetrics,
} from "../metrics/exposition.ts";
import { metricsJson } from "../metrics/flat_names.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { RouteRegistry } from "./routes.ts";

export interface MetricsRoutesOptions {
  readonly metrics: MetricsRegistry;
  /**
   * Brings gauges up to date before a scrape (ZooKeeper state, process, nginx's
   * stub_status). Bounded by its owner; a failure in it still serves what is known.
   */
  readonly refresh?: () => void | Promise<void>;
}

/**
 * Mounts `/metrics` and `/metrics.json` for the owner "metrics".
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import { RouteRegistry } from "./routes.ts";
 *
 * const routes = new RouteRegistry();
 * mountMetricsRoutes(routes, { metrics: new MetricsRegistry("aurproxy") });
 * const res = await routes.match("GET", "/metrics")!(
 *   new Request("http://x/metrics"),
 *   new URL("http://x/metrics"),
 *   { peer: "127.0.0.1" },
 * );
 * console.log(res.status); // 200
 * ```
 */
export function mountMetricsRoutes(routes: RouteRegistry, o: MetricsRoutesOptions): void {
  const refresh = async () => {
    try {
      await o.refresh?.();
    } catch {
      // Serve what is known: a scrape must not fail for one stale gauge.
    }
  };
  routes.add("metrics", {
    method: ["GET", "HEAD"],
    path: "/metrics",
    handler: async (req) => {
      const open = wantsOpenMetrics(req.headers.get("accept"));
      const headers = {
        "content-type": open ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE,
        vary: "Accept",
      };
      await refresh();
      // HEAD gets the same headers (the server leaves the body out, as for /health).
      return new Response(open ? o.metrics.openMetrics() : o.metrics.prometheus(), { headers });
    },
  });
  routes.add("metrics", {
    method: ["GET", "HEAD"],
    path: "/metrics.json",
    handler: async () => {
      const headers = { "content-type": "application/json" };
      await refresh();
      const body = JSON.stringify(metricsJson(o.metrics.families()), null, 2) + "\n";
      return new Response(body, { headers });
    },
  });
}
