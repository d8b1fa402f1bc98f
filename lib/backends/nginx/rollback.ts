/**
 * Getting nginx serving again after a reload left it without workers: the live file goes
 * back to `<file>.1` (the last config nginx ran, kept by every apply) and the master is
 * reloaded on it. The config that did this passed `nginx -t`: only running it showed it
 * cannot run (`malloc()` of `worker_connections` failing is the known case).
 *
 * @module
 */

import { keepCopy } from "./config_file.ts";
import type { NginxChild, ProcInfo } from "./process.ts";
import { reloadAndWatch } from "./reload.ts";

/** How the restore went: nginx serves `<file>.1` again, or it could not be made to. */
export type RestoreResult =
  | {
    readonly kind: "restored";
    /** The config now live (that of `<file>.1`). */
    readonly text: string;
    readonly workers: readonly NginxChild[];
    /** For the log, the metric and /health: what happened and what was done. */
    readonly error: string;
  }
  | { readonly kind: "failed"; readonly error: string };

const DIED = "nginx -t accepted the new config, but at reload every nginx worker exited " +
  "and no worker process was left (nginx's error log says why, e.g. malloc() failed)";

/**
 * Puts `<file>.1` back as `file` (atomically) and reloads `master` on it. Never throws.
 */
export async function restorePrevious(
  master: ProcInfo,
  file: string,
  o: { readonly timeoutMs: number; readonly hangUp?: () => boolean },
): Promise<RestoreResult> {
  const previous = `${file}.1`;
  let text: string;
  try {
    text = await Deno.readTextFile(previous);
    await keepCopy(previous, file);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? `there is no ${previous} to go back to`
      : `restoring ${previous} failed: ${(err as Error).message}`;
    return {
      kind: "failed",
      error: `${DIED}; ${why}: nginx (pid ${master.pid}) serves nothing until a config it ` +
        `can run is applied`,
    };
  }
  const outcome = await reloadAndWatch(master, {
    timeoutMs: o.timeoutMs,
    expectedWorkers: 0,
    hangUp: o.hangUp,
  });
  if (outcome.kind !== "reloaded") {
    return {
      kind: "failed",
      error: `${DIED}; restored ${previous}, but nginx (pid ${master.pid}) did not come back ` +
        `on it (${outcome.kind.replace("_", " ")}): it serves nothing`,
    };
  }
  return {
    kind: "restored",
    text,
    workers: outcome.workers,
    error: `${DIED}; restored ${previous} and nginx (pid ${master.pid}) serves it again with ` +
      `${outcome.workers.length} worker(s); this config is not tried again until the desired ` +
      `config changes`,
  };
}
