/**
 * The dashboard's routes on the management port: `GET /status` (and `/`) the page,
 * `GET /status/live` its live part for the page's script (ETag / 304), and
 * `GET /status.json` the snapshot with what the dashboard shows beside it.
 *
 * @module
 */

import type { Clock } from "../../clock.ts";
import type { HealthCheckResult } from "../../model/health.ts";
import type { ProxySnapshot } from "../../model/snapshot.ts";
import type { RouteRegistry } from "../routes.ts";
import { buildDashboardModel, type DashboardFeed, type DashboardModel } from "./model.ts";
import { renderDashboard, renderLive } from "./page.ts";

/** What the routes read. */
export interface DashboardRouteOptions {
  readonly snapshot: () => ProxySnapshot | undefined;
  readonly health: () => HealthCheckResult;
  readonly feed?: DashboardFeed;
  readonly version: string;
  readonly clock: Clock;
}

/**
 * A strong ETag of the model (53-bit string hash): equal models, equal tags. Ages are
 * rendered from absolute times in the model, so a model that did not change is still
 * current on a page whose script ticks them.
 */
export function modelTag(m: DashboardModel): string {
  const s = JSON.stringify(m);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `"${(4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)}"`;
}

const HTML = { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" };

/** Mounts the dashboard's routes (owner "status"). */
export function mountDashboard(routes: RouteRegistry, o: DashboardRouteOptions): void {
  const model = () => {
    const now = o.clock.now();
    const m = buildDashboardModel({
      snapshot: o.snapshot(),
      health: o.health(),
      feed: o.feed,
      version: o.version,
      now,
    });
    return { m, now, tag: modelTag(m) };
  };
  for (const path of ["/status", "/"]) {
    routes.add("status", {
      method: "GET",
      path,
      handler: () => {
        const { m, now, tag } = model();
        return new Response(renderDashboard(m, now, tag), { headers: HTML });
      },
    });
  }
  routes.add("status", {
    method: "GET",
    path: "/status/live",
    handler: (req) => {
      const { m, now, tag } = model();
      if (req.headers.get("if-none-match") === tag) {
        return new Response(null, { status: 304, headers: { etag: tag } });
      }
      return new Response(renderLive(m, now, tag), { headers: { ...HTML, etag: tag } });
    },
  });
  routes.add("status", {
    method: "GET",
    path: "/status.json",
    handler: () => {
      const snap = o.snapshot();
      if (!snap) return json({ error: "no snapshot yet" }, 503);
      if (!o.feed) return json({ ...snap, version: o.version });
      const { m, now } = model();
      return json({
        ...snap,
        version: m.version,
        startedAt: m.startedAt,
        uptimeSeconds: Math.round((now - o.feed.startedAt) / 1000),
        sources: m.sources,
        reloads: m.reloads,
        events: m.events,
        proxy: m.proxy,
      });
    },
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}
