/**
 * What the nginx backend knows of its live file ({@linkcode LiveState}), and the reload
 * of a file already written and checked ({@linkcode reloadLive}): SIGHUP to the master
 * that runs it (through the supervisor for aurproxy's own nginx), judged by
 * `reload.ts`; a config that leaves nginx without workers is rolled back to `<file>.1`
 * (`rollback.ts`) and refused until the desired config changes. Each outcome is counted
 * and updates the state, which the next apply reads.
 *
 * @module
 */

import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { ApplyResult } from "../backend.ts";
import { configMeaning, workerCountOf } from "./config_text.ts";
import { NGINX_METRICS, type NginxMetric } from "./metrics.ts";
import type { ProcInfo } from "./process.ts";
import { reloadAndWatch } from "./reload.ts";
import { restorePrevious } from "./rollback.ts";
import type { OwnNginx } from "./supervised.ts";
import type { NginxWatch } from "./watch.ts";

/**
 * Whether nginx runs the live file: it confirmed loading it, it was written but nginx
 * has not confirmed it (its reload failed, or is still to be done), or it was found at
 * start-up (presumably what nginx runs; reloaded once to be sure).
 */
export type LiveConfirmation = "confirmed" | "unconfirmed" | "unknown";

/** What the backend knows of the live file; one per backend, mutated as it applies. */
export interface LiveState {
  confirmation: LiveConfirmation;
  /**
   * `configMeaning` of the live file: read once, then kept as the backend writes it (the
   * file is aurproxy's), so an update neither re-reads nor re-parses 2,000 server lines.
   * `null`: there is no live file. Undefined until the first apply.
   */
  meaning?: string | null;
  /** Workers the running config asks for (from the last file written or found live). */
  workerCount?: number;
  /** A config nginx could not run (rolled back): refused until the desired config changes. */
  refused?: { readonly meaning: string; readonly result: ApplyResult };
}

/** What {@linkcode reloadLive} works with. */
export interface LiveReloadDeps {
  readonly configurationFile: string;
  readonly watch: NginxWatch;
  /** aurproxy's own nginx (`run --supervise`), when it runs one. */
  readonly own: OwnNginx | undefined;
  readonly metrics: MetricsRegistry;
  /** How long to wait for new workers after SIGHUP. */
  readonly timeoutMs: number;
  /** Step timestamps for bench/discovery's breakdown. */
  readonly trace: (step: string) => void;
}

/**
 * Reloads nginx onto the live file, which holds `text` (whose meaning is `meaning`);
 * `started` is when the apply began (`performance.now()`), for its duration.
 *
 * @example
 * ```ts ignore
 * const result = await reloadLive(state, deps, text, configMeaning(text), performance.now());
 * ```
 */
export async function reloadLive(
  state: LiveState,
  d: LiveReloadDeps,
  text: string,
  meaning: string,
  started: number,
): Promise<ApplyResult> {
  const check = d.watch.check();
  const why = d.watch.whyNot(check);
  if (why !== undefined || check.kind !== "ours") {
    inc(d, NGINX_METRICS.reloadFailures);
    return { kind: "reload_failed", error: `${why}; config written to ${d.configurationFile}` };
  }
  d.trace("signalling");
  const master = check.proc;
  const own = d.own;
  if (own && !own.ready()) {
    inc(d, NGINX_METRICS.reloadFailures);
    return {
      kind: "reload_failed",
      error: `nginx (pid ${master.pid}) was just started again and is not ready for a ` +
        `reload; it runs ${d.configurationFile}, and is reloaded at the next update`,
    };
  }
  const outcome = await reloadAndWatch(master, {
    timeoutMs: d.timeoutMs,
    expectedWorkers: state.workerCount ?? 1,
    hangUp: own && (() => own.hangUp()),
  });
  switch (outcome.kind) {
    case "reloaded":
      d.trace("confirmed");
      d.watch.remember(master, outcome.workers);
      confirmed(state, d, workerCountOf(text));
      return applied(d, started);
    case "kept_previous":
      inc(d, NGINX_METRICS.reloadFailures);
      return {
        kind: "reload_failed",
        error: `nginx (pid ${master.pid}) did not start new workers after SIGHUP: its ` +
          `previous workers (${outcome.workers.length}) still serve its previous config; ` +
          `its error log says why (e.g. a port it cannot bind)`,
      };
    case "exited":
      inc(d, NGINX_METRICS.reloadFailures);
      return {
        kind: "reload_failed",
        error: `nginx (pid ${master.pid}) exited after SIGHUP; its error log says why`,
      };
    case "no_workers":
      return await rollBack(state, d, master, meaning);
  }
}

/** No worker left after the reload: the live file goes back to `.1`, reloaded. */
async function rollBack(
  state: LiveState,
  d: LiveReloadDeps,
  master: ProcInfo,
  meaning: string,
): Promise<ApplyResult> {
  inc(d, NGINX_METRICS.reloadFailures);
  const own = d.own;
  const r = await restorePrevious(master, d.configurationFile, {
    timeoutMs: d.timeoutMs,
    hangUp: own && (() => own.hangUp()),
  });
  if (r.kind === "failed") {
    state.refused = { meaning, result: { kind: "reload_failed", error: r.error } };
    return state.refused.result;
  }
  inc(d, NGINX_METRICS.rollbacks);
  d.watch.remember(master, r.workers);
  state.meaning = configMeaning(r.text);
  confirmed(state, d, workerCountOf(r.text));
  state.refused = { meaning, result: { kind: "invalid", error: r.error } };
  return state.refused.result;
}

/** nginx runs the live file, with `workers` workers. */
function confirmed(state: LiveState, d: LiveReloadDeps, workers: number): void {
  state.confirmation = "confirmed";
  state.workerCount = workers;
  inc(d, NGINX_METRICS.reloads);
  d.metrics.set("last_reload_timestamp_seconds", "When nginx last reloaded.", Date.now() / 1000);
}

function applied(d: LiveReloadDeps, started: number): ApplyResult {
  const durationMs = performance.now() - started;
  d.metrics.set(
    "last_apply_duration_seconds",
    "Duration of the last successful apply.",
    durationMs / 1000,
  );
  return { kind: "applied", reloaded: true, durationMs };
}

function inc(d: LiveReloadDeps, m: NginxMetric): void {
  d.metrics.inc(m[0], m[1]);
}
