/**
 * The dashboard page (`GET /status`): server-rendered HTML, complete without JavaScript
 * (a static table, refreshed every 10 s by a `<noscript>` meta refresh), with inline CSS and an inline script that keeps it live (see
 * `script.ts`). `GET /status/live` serves the `#live` part alone, the same rendering, for
 * the script to swap in. Pure: the model and the time in, HTML out.
 *
 * @module
 */

import { ago, esc } from "./html.ts";
import type { DashboardModel } from "./model.ts";
import { DASHBOARD_JS } from "./script.ts";
import { renderApiSources, renderReloads, renderSources, renderTimeline } from "./sections.ts";
import { DASHBOARD_CSS } from "./style.ts";
import { renderServers } from "./upstreams.ts";

function healthBlock(m: DashboardModel, now: number): string {
  const h = m.health;
  const built = m.builtAt === undefined
    ? "no snapshot yet"
    : `snapshot built ${ago(m.builtAt, now)}`;
  const lines = h.lines.length ? `<p class="lines">${h.lines.map(esc).join("<br>")}</p>` : "";
  return `<p class="summary">Health: <b class="health h-${h.level}">${h.level}</b> · ${built}${
    m.adjustmentDelayed ? " · weight adjustment delayed" : ""
  }</p>${proxyLine(m)}${lines}`;
}

/** `run --supervise`: the proxy aurproxy runs, so a restart loop shows at a glance. */
function proxyLine(m: DashboardModel): string {
  const p = m.proxy;
  if (!p) return "";
  const pid = p.pid === undefined ? "" : ` pid ${p.pid}`;
  return `<p class="proxy">${esc(p.backend)}${pid}: <b class="proc p-${esc(p.state)}">${
    esc(p.state)
  }</b> · ${p.restarts} restart(s)${p.detail ? ` · ${esc(p.detail)}` : ""}</p>`;
}

/**
 * The live part of the page: health, servers, sources, reloads, events. `etag` names this
 * state, for the script's next poll.
 *
 * @example
 * ```ts
 * import { buildDashboardModel } from "./model.ts";
 *
 * const now = Date.now();
 * const m = buildDashboardModel({ health: { level: "ok", lines: [] }, version: "0.1.0", now });
 * renderLive(m, now, '"1"').startsWith('<div id="live"'); // true
 * ```
 */
export function renderLive(m: DashboardModel, now: number, etag: string): string {
  const servers = m.builtAt === undefined
    ? "<p>No snapshot yet: sources are starting.</p>"
    : renderServers(m.servers, now);
  return `<div id="live" data-now="${now}" data-etag="${esc(etag)}">
${healthBlock(m, now)}
${servers}
${renderSources(m.sources, now)}
${renderApiSources(m.apiSources, now)}
<div class="cols">${renderReloads(m.reloads, now)}${renderTimeline(m.events, now)}</div>
</div>`;
}

/** The whole page. */
export function renderDashboard(m: DashboardModel, now: number, etag: string): string {
  const started = m.startedAt === undefined ? "" : `<span>started ${ago(m.startedAt, now)}</span>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aurproxy status</title>
<noscript><meta http-equiv="refresh" content="10"></noscript>
<style>${DASHBOARD_CSS}</style></head><body>
<header><h1>aurproxy</h1><span class="version">version ${esc(m.version)}</span>${started}
<span><a href="/status.json">status.json</a> · <a href="/metrics">metrics</a> · ` +
    `<a href="/health/details">health</a></span><span id="conn"></span></header>
${renderLive(m, now, etag)}
<script>${DASHBOARD_JS}</script>
</body></html>
`;
}
