/**
 * What the HAProxy backend knows of its live file and of what HAProxy runs
 * ({@linkcode LiveState}), and the two ways the file changes under a running HAProxy:
 * rewritten as it is ({@linkcode writeLive}, after a runtime change or to put the previous
 * config back) and reloaded ({@linkcode reloadLive}: through the master CLI or the pid
 * file's signal, `reload.ts`). A config HAProxy rejects at reload is written back to what
 * its old workers serve, and refused until the desired config changes.
 *
 * @module
 */

import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { ApplyResult } from "../backend.ts";
import { replaceFile } from "../nginx/config_file.ts";
import { readLayout } from "./layout_file.ts";
import type { MasterCli } from "./master_cli.ts";
import { HAPROXY_METRICS, type HaproxyMetric } from "./metrics.ts";
import { reloadHaproxy } from "./reload.ts";
import type { RuntimeApi } from "./runtime_api.ts";
import type { SlotLayout } from "./slots.ts";

/** What HAProxy runs: the text of the file and its layout. */
export interface Running {
  readonly text: string;
  readonly structure: string;
  readonly layout: SlotLayout;
}

/** What the backend knows; one per backend, mutated as it applies. */
export interface LiveState {
  /** What HAProxy is known to run; undefined when unknown. */
  running?: Running;
  /** The text last written to the live file. */
  written?: string;
  /** The layout new plans start from: the last one written (or found in the live file). */
  layout?: SlotLayout;
  /** Whether the live file's layout was read (once). */
  layoutRead: boolean;
  /** A config HAProxy could not load: refused until the desired config changes. */
  refused?: { readonly text: string; readonly result: ApplyResult };
}

/** What writing and reloading work with. */
export interface LiveFileDeps {
  readonly configurationFile: string;
  readonly pidPath: string;
  readonly master: MasterCli;
  readonly api: RuntimeApi;
  readonly metrics: MetricsRegistry;
  /** How long to wait for the new worker after a reload. */
  readonly timeoutMs: number;
  /** Whether a master without a CLI may be reloaded by SIGUSR2 (see `reload.ts`). */
  readonly signalFallback: boolean;
}

/**
 * The live file again, as `text` with `layout`: atomically, without a reload.
 *
 * @example
 * ```ts ignore
 * await writeLive(state, deps, text, readLayout(text));
 * ```
 */
export async function writeLive(
  state: LiveState,
  d: LiveFileDeps,
  text: string,
  layout: SlotLayout,
): Promise<void> {
  await replaceFile(d.configurationFile, text);
  state.written = text;
  state.layout = layout;
  inc(d.metrics, HAPROXY_METRICS.writes);
}

/**
 * Reloads HAProxy onto the live file, which holds `target.text`; `prior` is what HAProxy
 * loaded last, presumably, when nothing better is known (written back if it rejects the
 * new text). `started` is when the apply began (`performance.now()`).
 *
 * @example
 * ```ts ignore
 * const target = { text, structure: structureOf(text), layout };
 * const result = await reloadLive(state, deps, target, performance.now(), undefined);
 * ```
 */
export async function reloadLive(
  state: LiveState,
  d: LiveFileDeps,
  target: Running,
  started: number,
  prior: string | undefined,
): Promise<ApplyResult> {
  const { text } = target;
  const previous = state.running;
  const file = d.configurationFile;
  const outcome = await reloadHaproxy({
    master: d.master,
    api: d.api,
    pidPath: d.pidPath,
    configFile: file,
    timeoutMs: d.timeoutMs,
    signalFallback: d.signalFallback,
  });
  switch (outcome.kind) {
    case "reloaded":
      state.running = target;
      inc(d.metrics, HAPROXY_METRICS.reloads);
      d.metrics.set(
        "last_reload_timestamp_seconds",
        "When the proxy last reloaded.",
        Date.now() / 1000,
      );
      return { kind: "applied", reloaded: true, durationMs: performance.now() - started };
    case "failed":
      inc(d.metrics, HAPROXY_METRICS.reloadFailures);
      state.running = undefined;
      return { kind: "reload_failed", error: `${outcome.detail}; config written to ${file}` };
    case "rejected": {
      inc(d.metrics, HAPROXY_METRICS.reloadFailures);
      // Its old workers serve the previous config: the file goes back to it, so that a
      // restart serves what runs now.
      const back = previous?.text ?? prior;
      if (back) await writeLive(state, d, back, previous?.layout ?? readLayout(back));
      state.running = previous;
      const result: ApplyResult = {
        kind: "reload_failed",
        error: `${outcome.detail}` + (back ? `, written back to ${file}` : ""),
      };
      state.refused = { text, result };
      return result;
    }
  }
}

/** Counts one of the backend's counters. */
export function inc(metrics: MetricsRegistry, m: HaproxyMetric): void {
  metrics.inc(m[0], m[1]);
}
