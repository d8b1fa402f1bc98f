/**
 * The change log as the dashboard shows it: a timeline of events (endpoints that joined,
 * left, changed weight, went out of or back into rotation; configs the proxy refused;
 * failed reloads) and the last reloads with their duration and result. Pure.
 *
 * A health change reaches the change log as a weight change to or from 0 (that is what
 * nginx sees), so the timeline calls those "out of rotation" and "back in rotation".
 *
 * @module
 */

import type { ChangeLogEntry } from "../../observability/change_log.ts";

/** One line of the timeline. */
export interface TimelineEvent {
  /** When its update was built (ms). */
  readonly at: number;
  readonly kind: "join" | "leave" | "weight" | "out" | "in" | "invalid" | "failed" | "more";
  /** The upstream concerned; absent for an apply outcome. */
  readonly upstream?: string;
  readonly text: string;
}

/** One update that reached the proxy (or tried to). */
export interface ReloadView {
  readonly seq: number;
  readonly at: number;
  /** applied, invalid, reload_failed, error. */
  readonly result: string;
  /** False when the config was written but nginx not reloaded. */
  readonly reloaded: boolean;
  readonly durationMs?: number;
  readonly error?: string;
}

const tag = (pool: string) => pool === "overflow" ? " [overflow]" : "";

function eventsOf(e: ChangeLogEntry): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const add = (kind: TimelineEvent["kind"], text: string, upstream?: string) =>
    out.push({ at: e.at, kind, text, upstream });
  for (const u of e.upstreams) {
    for (const j of u.joined) add("join", `${j.endpoint}${tag(j.pool)} joined`, u.upstream);
    if (u.joinedCount > u.joined.length) {
      add("more", `${u.joinedCount - u.joined.length} more joined`, u.upstream);
    }
    for (const l of u.left) add("leave", `${l.endpoint}${tag(l.pool)} left`, u.upstream);
    if (u.leftCount > u.left.length) {
      add("more", `${u.leftCount - u.left.length} more left`, u.upstream);
    }
    for (const w of u.reweighted) {
      const what = `${w.endpoint}${tag(w.pool)} weight ${w.from}→${w.to}`;
      if (w.to === 0) add("out", `${what}: out of rotation`, u.upstream);
      else if (w.from === 0) add("in", `${what}: back in rotation`, u.upstream);
      else add("weight", what, u.upstream);
    }
    if (u.reweightedCount > u.reweighted.length) {
      add("more", `${u.reweightedCount - u.reweighted.length} more weight changes`, u.upstream);
    }
  }
  if (e.upstreamCount > e.upstreams.length) {
    add("more", `${e.upstreamCount - e.upstreams.length} more upstream(s) changed`);
  }
  const a = e.apply;
  if (a.kind === "invalid") add("invalid", `config refused by the proxy: ${a.error ?? ""}`);
  if (a.kind === "reload_failed" || a.kind === "error") {
    add("failed", `${a.kind === "error" ? "apply" : "reload"} failed: ${a.error ?? ""}`);
  }
  return out;
}

/**
 * The last `max` events, newest first.
 *
 * @example
 * ```ts
 * timelineOf([{
 *   seq: 1, at: 0, upstreamCount: 1, apply: { kind: "applied", reloaded: true, durationMs: 9 },
 *   upstreams: [{ upstream: "u", joined: [{ endpoint: "10.0.0.1:80", pool: "primary" }],
 *     joinedCount: 1, left: [], leftCount: 0, reweighted: [], reweightedCount: 0 }],
 * }], 10)[0].text; // "10.0.0.1:80 joined"
 * ```
 */
export function timelineOf(entries: readonly ChangeLogEntry[], max: number): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < max; i--) {
    out.push(...eventsOf(entries[i]).slice(0, max - out.length));
  }
  return out;
}

/** The last `max` updates that wrote (or tried to write) the proxy config, newest first. */
export function reloadsOf(entries: readonly ChangeLogEntry[], max: number): ReloadView[] {
  const out: ReloadView[] = [];
  for (let i = entries.length - 1; i >= 0 && out.length < max; i--) {
    const e = entries[i];
    if (e.apply.kind === "unchanged") continue;
    out.push({
      seq: e.seq,
      at: e.at,
      result: e.apply.kind,
      reloaded: e.apply.reloaded ?? false,
      durationMs: e.apply.durationMs,
      error: e.apply.error,
    });
  }
  return out;
}
