/**
 * The change log: per update, which endpoints joined, left or changed weight in which
 * upstream, and how the apply ended. A pipeline listener keeping the last entries in a
 * bounded ring, as plain data, for the status page and /status.json; each update is also
 * one concise log line, e.g.
 * `upstream s_default_80_r0: +10.0.0.3:31000 -10.0.0.1:31000 10.0.0.2:31000 weight 500→1000; applied in 12 ms`.
 *
 * It keeps only the diff lines (each list bounded), never a snapshot beyond the update in
 * flight.
 *
 * @module
 */

import type { ApplyResult } from "../backends/backend.ts";
import type { Logger } from "../log.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import type { PipelineListener } from "../pipeline/listener.ts";
import { type DiffEndpoint, diffSnapshots, type UpstreamDiff } from "./snapshot_diff.ts";

/** How an update's apply ended, as data. */
export interface ApplyOutcome {
  readonly kind: ApplyResult["kind"];
  readonly reloaded?: boolean;
  readonly durationMs?: number;
  readonly error?: string;
}

/** One update. */
export interface ChangeLogEntry {
  /** 1 for the first update recorded, counting up. */
  readonly seq: number;
  /** When the update's snapshot was built (ms since epoch). */
  readonly at: number;
  /** Changed upstreams (at most the log's `maxUpstreams`); `upstreamCount` is exact. */
  readonly upstreams: readonly UpstreamDiff[];
  readonly upstreamCount: number;
  readonly apply: ApplyOutcome;
}

export interface ChangeLogOptions {
  readonly logger: Logger;
  /** Entries kept (default 100): the oldest goes first. */
  readonly capacity?: number;
  /** Endpoints kept per list (joined, left, reweighted) of one upstream (default 20). */
  readonly maxPerList?: number;
  /** Upstreams kept per entry (default 20). */
  readonly maxUpstreams?: number;
}

/** Items shown per list and upstreams shown per log line: a line stays readable. */
const LINE_ITEMS = 5;

const show = (e: DiffEndpoint) => e.pool === "overflow" ? `${e.endpoint}[overflow]` : e.endpoint;

function more(shown: number, total: number): string[] {
  return total > shown ? [`(+${total - shown} more)`] : [];
}

function describeUpstream(d: UpstreamDiff): string {
  const parts = [
    ...d.joined.slice(0, LINE_ITEMS).map((e) => `+${show(e)}`),
    ...more(Math.min(LINE_ITEMS, d.joined.length), d.joinedCount),
    ...d.left.slice(0, LINE_ITEMS).map((e) => `-${show(e)}`),
    ...more(Math.min(LINE_ITEMS, d.left.length), d.leftCount),
    ...d.reweighted.slice(0, LINE_ITEMS).map((w) => `${show(w)} weight ${w.from}→${w.to}`),
    ...more(Math.min(LINE_ITEMS, d.reweighted.length), d.reweightedCount),
  ];
  return `upstream ${d.upstream}: ${parts.join(" ")}`;
}

function describeApply(a: ApplyOutcome): string {
  const ms = a.durationMs === undefined ? "" : ` in ${Math.round(a.durationMs)} ms`;
  switch (a.kind) {
    case "unchanged":
      return "proxy config unchanged";
    case "applied":
      return a.reloaded ? `applied${ms}` : `written${ms}, not reloaded`;
    case "invalid":
      return "rejected by the proxy, previous config stays live";
    case "reload_failed":
      return "reload failed";
    case "error":
      return "apply failed";
  }
}

/** The log line of an entry (also what the status page can show). */
export function describeEntry(e: ChangeLogEntry): string {
  const ups = e.upstreams.slice(0, LINE_ITEMS).map(describeUpstream);
  if (e.upstreamCount > ups.length) ups.push(`${e.upstreamCount - ups.length} more upstream(s)`);
  return `${ups.length ? ups.join("; ") : "no endpoint changes"}; ${describeApply(e.apply)}`;
}

function outcome(r: ApplyResult): ApplyOutcome {
  switch (r.kind) {
    case "unchanged":
      return { kind: r.kind };
    case "applied":
      return { kind: r.kind, reloaded: r.reloaded, durationMs: r.durationMs };
    default:
      return { kind: r.kind, error: r.error };
  }
}

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import type { ProxySnapshot } from "../model/snapshot.ts";
 *
 * const changes = new ChangeLog({ logger: memoryLogger() }); // reconciler.addListener(changes)
 * const snap: ProxySnapshot = { context: {}, servers: [], builtAt: 0, adjustmentDelayed: false };
 * changes.onSnapshot(snap, undefined);
 * changes.onApplied({ kind: "applied", reloaded: true, durationMs: 12 }, snap);
 * describeEntry(changes.entries()[0]); // "no endpoint changes; applied in 12 ms"
 * ```
 */
export class ChangeLog implements PipelineListener {
  readonly #logger: Logger;
  readonly #capacity: number;
  readonly #maxPerList: number;
  readonly #maxUpstreams: number;
  readonly #ring: ChangeLogEntry[] = [];
  #seq = 0;
  /** The diff of the snapshot being applied, until its result arrives. */
  #pending?: { snapshot: ProxySnapshot; diffs: UpstreamDiff[] };

  constructor(o: ChangeLogOptions) {
    this.#logger = o.logger;
    this.#capacity = Math.max(1, o.capacity ?? 100);
    this.#maxPerList = o.maxPerList ?? 20;
    this.#maxUpstreams = o.maxUpstreams ?? 20;
  }

  onSnapshot(snapshot: ProxySnapshot, previous: ProxySnapshot | undefined): void {
    this.#pending = { snapshot, diffs: diffSnapshots(previous, snapshot, this.#maxPerList) };
  }

  onApplied(result: ApplyResult, snapshot: ProxySnapshot): void {
    const pending = this.#pending?.snapshot === snapshot ? this.#pending : undefined;
    this.#pending = undefined;
    const diffs = pending?.diffs ?? [];
    // A re-render that changed nothing the proxy runs (audit comments) is not an event.
    if (!diffs.length && result.kind === "unchanged") return;
    const entry: ChangeLogEntry = {
      seq: ++this.#seq,
      at: snapshot.builtAt,
      upstreams: diffs.slice(0, this.#maxUpstreams),
      upstreamCount: diffs.length,
      apply: outcome(result),
    };
    this.#ring.push(entry);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
    this.#logger.info(describeEntry(entry));
  }

  /** The kept entries, oldest first. */
  entries(): readonly ChangeLogEntry[] {
    return [...this.#ring];
  }
}
