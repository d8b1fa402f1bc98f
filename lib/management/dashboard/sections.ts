/**
 * The dashboard's side sections: the sources and their registry state, the sources added
 * over HTTP (ApiSource) with their expiry, the last reloads and the event timeline. Pure
 * rendering of the model.
 *
 * @module
 */

import type { ApiSourceStatus } from "../../model/snapshot.ts";
import type { ReloadView, TimelineEvent } from "./events.ts";
import { ago, countdown, esc, trunc } from "./html.ts";
import type { SourceView } from "./model.ts";

function registryCells(s: SourceView, now: number): string {
  const r = s.registry;
  if (!r) return `<td colspan="4">-</td>`;
  const from = r.servedFrom
    ? `${esc(r.servedFrom)}${r.savedAt !== undefined ? ` (saved ${ago(r.savedAt, now)})` : ""}`
    : "the registry";
  return `<td class="zk">${trunc(`${r.connectString}${r.zkPath}`)}</td>` +
    `<td class="session zk-${esc(r.session)}">${esc(r.session)} ${ago(r.sessionSince, now)}</td>` +
    `<td>${r.lastEventAt === undefined ? "never" : ago(r.lastEventAt, now)}</td>` +
    `<td class="from${r.servedFrom ? " fallback" : ""}">${from}</td>`;
}

/** The sources table. */
export function renderSources(sources: readonly SourceView[], now: number): string {
  if (!sources.length) return "";
  const rows = sources.map((s) =>
    `<tr class="${s.healthy ? "ok" : "bad"}"><td class="name">${trunc(s.name)}</td>` +
    `<td>${esc(s.detail || (s.healthy ? "ok" : "unhealthy"))}</td>${registryCells(s, now)}</tr>`
  );
  return `<section><h2>Sources</h2><table class="sources"><colgroup><col class="c-sname">` +
    `<col class="c-sstate"><col class="c-zk"><col class="c-session"><col class="c-event">` +
    `<col class="c-from"></colgroup>
<thead><tr><th>source</th><th>state</th><th>ZooKeeper</th><th>session</th>` +
    `<th>last event</th><th>served from</th></tr></thead><tbody>
${rows.join("\n")}
</tbody></table></section>`;
}

function expiry(at: string | null, now: number): string {
  if (at === null) return "never";
  const t = Date.parse(at);
  return Number.isFinite(t) ? `${esc(at)} (${countdown(t, now)})` : esc(at);
}

/** Each ApiSource's managed sources: name, class, endpoints, expiry. */
export function renderApiSources(api: readonly ApiSourceStatus[], now: number): string {
  if (!api.length) return "";
  const rows = api.flatMap((a) =>
    a.sources.length
      ? a.sources.map((m) =>
        `<tr><td>${esc(a.name)}</td><td>${esc(m.name)}</td><td>${trunc(m.sourceClass)}</td>` +
        `<td>${m.endpoints.map(esc).join("<br>") || "-"}</td><td>${expiry(m.expiration, now)}` +
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

/** The last reloads: when, result, duration. */
export function renderReloads(reloads: readonly ReloadView[], now: number): string {
  const rows = reloads.map((r) => {
    const result = r.result === "applied" && !r.reloaded ? "written, not reloaded" : r.result;
    const ok = r.result === "applied";
    return `<tr class="${ok ? "ok" : "bad"}"><td>#${r.seq}</td><td>${ago(r.at, now)}</td>` +
      `<td>${esc(result)}</td><td>${
        r.durationMs === undefined ? "-" : `${Math.round(r.durationMs)} ms`
      }</td><td>${r.error ? trunc(r.error) : ""}</td></tr>`;
  });
  return `<section class="half"><h2>Last reloads</h2>${
    rows.length
      ? `<table class="reloads"><thead><tr><th>update</th><th>when</th><th>result</th>` +
        `<th>took</th><th>error</th></tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`
      : "<p>None yet.</p>"
  }</section>`;
}

/** The timeline of the last events, newest first. */
export function renderTimeline(events: readonly TimelineEvent[], now: number): string {
  const items = events.map((e) =>
    `<li class="ev ev-${e.kind}">${ago(e.at, now)} ${
      e.upstream ? `<code>${esc(e.upstream)}</code> ` : ""
    }<span class="what">${esc(e.text)}</span></li>`
  );
  return `<section class="half"><h2>Events</h2>${
    items.length ? `<ol class="timeline">\n${items.join("\n")}\n</ol>` : "<p>None yet.</p>"
  }</section>`;
}
