/**
 * The human status page (`GET /status`): servers → routes/streams → endpoints with their
 * weight, traffic fraction, adjuster factors and audit. Reads only the snapshot, so it
 * shows exactly what was (or is about to be) rendered into the proxy config.
 *
 * @module
 */

import type {
  ApiSourceStatus,
  ProxySnapshot,
  Upstream,
  WeightedEndpoint,
} from "../model/snapshot.ts";
import type { HealthCheckResult } from "../model/health.ts";

const ESC: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** HTML-escapes text (endpoint data comes from outside and must not become markup). */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

const pct = (f: number) => `${(f * 100).toFixed(1)}%`;

function endpointRow(e: WeightedEndpoint): string {
  const factors = e.factors.map((f) => `${esc(f.name)}=${f.share.toFixed(3)} (${esc(f.detail)})`)
    .join("<br>");
  const cls = e.weight > 0 ? "live" : "off";
  const at = e.address === e.host ? "" : ` (${esc(e.address)})`;
  return `<tr class="${cls}"><td>${esc(e.host)}:${e.port}${at}</td><td>${esc(e.pool)}</td>` +
    `<td>${esc(e.source)}</td><td>${e.weight}</td><td>${pct(e.fraction)}</td>` +
    `<td>${e.share.toFixed(3)}</td><td>${factors || "-"}</td>` +
    `<td class="audit">${esc(e.audit.join(" | "))}</td></tr>`;
}

function upstreamTable(title: string, u: Upstream): string {
  const notes = u.notes.length ? `<p class="notes">${u.notes.map(esc).join("<br>")}</p>` : "";
  const skipped = u.skipped.map((e) =>
    `<tr class="off"><td>${esc(e.host)}:${e.port}</td><td>${esc(e.pool)}</td>` +
    `<td>${esc(e.source)}</td><td colspan="5">left out: ${esc(e.reason)}</td></tr>`
  );
  const rows = u.endpoints.length || skipped.length
    ? [...u.endpoints.map(endpointRow), ...skipped].join("\n")
    : `<tr><td colspan="8">no endpoints</td></tr>`;
  return `<h3>${title} <code>${esc(u.slug)}</code>${u.failOpen ? " (fail-open)" : ""}</h3>
${notes}<table><thead><tr><th>endpoint</th><th>pool</th><th>source</th><th>weight</th>
<th>traffic</th><th>share</th><th>adjusters</th><th>audit</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

/** Each ApiSource's managed sources: name, class, endpoints, expiration. */
function apiSourcesTable(api: readonly ApiSourceStatus[] | undefined): string {
  if (!api?.length) return "";
  const rows = api.flatMap((a) =>
    a.sources.length
      ? a.sources.map((m) =>
        `<tr><td>${esc(a.name)}</td><td>${esc(m.name)}</td><td>${esc(m.sourceClass)}</td>` +
        `<td>${m.endpoints.map(esc).join("<br>") || "-"}</td><td>${esc(m.expiration ?? "never")}` +
        `</td><td>${esc(m.updatedAt)}</td></tr>`
      )
      : [`<tr><td>${esc(a.name)}</td><td colspan="5">no managed sources</td></tr>`]
  );
  return `<section><h2>Sources added over HTTP</h2>
<table><thead><tr><th>ApiSource</th><th>source</th><th>class</th><th>endpoints</th>
<th>expires</th><th>updated</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table></section>`;
}

/** Renders the whole page. */
export function renderStatusPage(
  snap: ProxySnapshot | undefined,
  health: HealthCheckResult,
): string {
  const body = !snap ? "<p>No snapshot yet: sources are starting.</p>" : snap.servers.map((s) => {
    const title = `Server ${esc(s.hosts.join(", ") || "(any host)")} : ${s.ports.join(", ")}`;
    const routes = s.routes.map((r) =>
      upstreamTable(`Route ${r.locations.map((l) => esc(l)).join(" ")}`, r)
    );
    const streams = s.streams.map((st) => upstreamTable("Stream", st));
    return `<section><h2>${title}</h2>${[...routes, ...streams].join("\n")}</section>`;
  }).join("\n");
  const built = snap ? new Date(snap.builtAt).toISOString() : "-";
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>aurproxy status</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
tr.off{color:#999}td.audit{font:12px monospace}.notes{color:#555}.h-ok{color:#080}.h-degraded{color:#b60}.h-failed{color:#c00}
</style></head><body>
<h1>aurproxy</h1>
<p>Health: <b class="h-${health.level}">${health.level}</b>${
    health.lines.length ? `<br>${health.lines.map(esc).join("<br>")}` : ""
  }</p>
<p>Snapshot built ${built}${snap?.adjustmentDelayed ? " — weight adjustment delayed" : ""}.
<a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></p>
${body}
${apiSourcesTable(snap?.apiSources)}
</body></html>
`;
}
