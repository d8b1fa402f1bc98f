/**
 * The management port's routes across SIGHUP graph swaps.
 *
 * @module
 */

import { type RouteHandler, RouteRegistry } from "../management/routes.ts";

/**
 * The routes of whichever graph runs: a SIGHUP swaps the graph and its routes with it
 * (the ApiSources of the new config). The first graph's paths are mounted, and `/api/*`
 * for API sources a new config adds; each request goes to the current graph's handler.
 * `fixed` holds the process's own routes (registration status, the mirror's ApiSource),
 * which outlive swaps.
 */
export function followingRoutes(
  first: RouteRegistry,
  current: () => RouteRegistry,
  fixed: RouteRegistry,
): RouteRegistry {
  const via = (registry: () => RouteRegistry): RouteHandler => (req, url, ctx) => {
    const handler = registry().match(req.method, url.pathname);
    return handler ? handler(req, url, ctx) : new Response("not found\n", { status: 404 });
  };
  const routes = new RouteRegistry();
  for (const r of fixed.routes()) {
    routes.add(r.owner, { method: r.method, path: r.path, handler: via(() => fixed) });
  }
  const follow = via(current);
  const mounted = new Set<string>();
  for (const r of first.routes()) {
    routes.add(r.owner, { method: r.method, path: r.path, handler: follow });
    mounted.add(`${r.method} ${r.path}`);
  }
  for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
    if (!mounted.has(`${method} /api/*`)) {
      routes.add("api sources", { method, path: "/api/*", handler: follow });
    }
  }
  return routes;
}
