/**
 * The dashboard's main tables: each server, its routes, streams and mirror pools, and
 * each endpoint with its weight as a bar, its share of the route's traffic, pool, health
 * check, ramp or delay, and its audit on demand. Pure rendering of the model.
 *
 * @module
 */

import { endpointKey } from "../../model/endpoint.ts";
import { ago, countdown, esc, pct, trunc } from "./html.ts";
import type { EndpointView, ServerView, UpstreamView } from "./model.ts";

/** The health cell: state in colour, the last check's result and its age. */
function healthCell(e: EndpointView, now: number): string {
  const h = e.health;
  if (!h) return `<td class="health"><span class="state">not checked</span></td>`;
  const last = h.lastResult
    ? `<br><small>last check ${esc(h.lastResult)}${h.lastReason ? `: ${esc(h.lastReason)}` : ""}${
      h.lastCheckAt !== undefined ? `, ${ago(h.lastCheckAt, now)}` : ""
    }</small>`
    : "<br><small>no check yet</small>";
  return `<td class="health"><span class="state" title="${esc(h.detail)}">${
    esc(h.status)
  }</span>${last}</td>`;
}

/** Ramp progress as a thin bar, a delayed start as a countdown. */
function startCell(e: EndpointView, now: number): string {
  const parts: string[] = [];
  if (e.delayUntil !== undefined) parts.push(`delayed, starts ${countdown(e.delayUntil, now)}`);
  if (e.ramp) {
    parts.push(
      `<span class="ramp" title="ramp ${pct(e.ramp.progress)}"><span class="rampfill" ` +
        `style="width:${(e.ramp.progress * 100).toFixed(1)}%"></span></span> ` +
        `<small>${esc(e.ramp.detail)}</small>`,
    );
  }
  return `<td class="start">${parts.join("<br>") || "-"}</td>`;
}

function endpointRow(e: EndpointView, now: number): string {
  const at = e.address === e.host ? "" : ` (${e.address})`;
  const name = `${endpointKey(e)}${at}`;
  const factors = e.factors.map((f) => `${f.name}=${f.share.toFixed(3)} (${f.detail})`);
  const audit = e.audit.length || factors.length
    ? `<details data-key="${esc(`${e.source} ${name}`)}"><summary>audit</summary><pre>${
      esc([...factors, ...e.audit].join("\n"))
    }</pre></details>`
    : "-";
  const h = e.health?.status ?? "none";
  return `<tr class="ep pool-${e.pool} h-${esc(h)}" data-endpoint="${esc(endpointKey(e))}" ` +
    `data-weight="${e.weight}"><td class="name">${trunc(name)}</td>` +
    `<td class="pool">${e.pool}</td>` +
    `<td class="weight"><span class="bar"><span class="fill" style="width:${
      e.barPct.toFixed(3)
    }%"></span></span> <span class="w">${e.weight}</span></td>` +
    `<td class="traffic">${pct(e.fraction)}</td>${healthCell(e, now)}${startCell(e, now)}` +
    `<td class="source">${trunc(e.source)}</td><td class="audit">${audit}</td></tr>`;
}

function upstreamTable(u: UpstreamView, now: number): string {
  const title = u.kind === "stream"
    ? "Stream"
    : `${u.kind === "mirror" ? "Mirror of route" : "Route"} ${u.locations.map(esc).join(" ")}`;
  const notes = u.notes.length ? `<p class="notes">${u.notes.map(esc).join("<br>")}</p>` : "";
  const skipped = u.skipped.map((e) =>
    `<tr class="ep skipped"><td class="name">${trunc(endpointKey(e))}</td><td>${esc(e.pool)}</td>` +
    `<td colspan="4">left out: ${esc(e.reason)}</td><td class="source">${
      trunc(e.source)
    }</td><td></td></tr>`
  );
  const rows = u.endpoints.length || skipped.length
    ? [...u.endpoints.map((e) => endpointRow(e, now)), ...skipped].join("\n")
    : `<tr><td colspan="8" class="empty">no endpoints</td></tr>`;
  return `<div class="upstream" data-slug="${esc(u.slug)}"><h3>${title} <code>${
    esc(u.slug)
  }</code>${u.failOpen ? ` <span class="warn">fail-open</span>` : ""}</h3>${notes}
<table class="endpoints"><colgroup><col class="c-name"><col class="c-pool"><col class="c-weight">` +
    `<col class="c-traffic"><col class="c-health"><col class="c-start"><col class="c-source">` +
    `<col class="c-audit"></colgroup>
<thead><tr><th>endpoint</th><th>pool</th><th>weight</th><th>traffic</th><th>health</th>` +
    `<th>ramp / delay</th><th>source</th><th>audit</th></tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

/**
 * Every server with its upstreams.
 *
 * @example
 * ```ts
 * renderServers([], Date.now()); // "<p>No servers configured.</p>"
 * ```
 */
export function renderServers(servers: readonly ServerView[], now: number): string {
  if (!servers.length) return "<p>No servers configured.</p>";
  return servers.map((s) => {
    const hosts = s.hosts.join(", ") || "(any host)";
    return `<section class="server" data-slug="${esc(s.slug)}"><h2>Server ${esc(hosts)} : ${
      s.ports.join(", ")
    }</h2>
${s.upstreams.map((u) => upstreamTable(u, now)).join("\n")}</section>`;
  }).join("\n");
}
