/**
 * SIGHUP to an nginx master and what came of it, judged on the process tree the master
 * leaves, not on nginx's word (its error log is not aurproxy's to read).
 *
 * On SIGHUP the master reads the config again. If it cannot take it (a port it cannot
 * bind), it logs why and keeps its workers. If it can, it forks new workers and then
 * tells the old ones to finish and exit. A config `nginx -t` accepts can still kill every
 * new worker in its initialisation (`worker_connections 1000000000`: `malloc()` fails;
 * nginx does not respawn a worker that exits that way): no worker is left, the listening
 * sockets stay open and every connection hangs. Those workers live about a millisecond,
 * too short to be seen, so each outcome is read from the state that lasts.
 *
 * @module
 */

import { accepting, childrenOf, type NginxChild, type ProcInfo, stillRunning } from "./process.ts";

/** How a reload ended. */
export type ReloadOutcome =
  /** New workers accept and no previous one does: new connections get the new config. */
  | { readonly kind: "reloaded"; readonly workers: readonly NginxChild[] }
  /** No new worker came; the previous ones still accept: the master refused the config. */
  | { readonly kind: "kept_previous"; readonly workers: readonly NginxChild[] }
  /** No worker accepts, none is starting: nginx serves nothing. */
  | { readonly kind: "no_workers" }
  /** The master exited. */
  | { readonly kind: "exited" };

export interface ReloadWatch {
  /** How long to wait for the outcome. */
  readonly timeoutMs: number;
  /** How long "no worker accepts" must last to be the outcome. Default 100 ms. */
  readonly settleMs?: number;
  /** Workers the running config asks for (a master just started may still fork them). */
  readonly expectedWorkers?: number;
  /**
   * Delivers the SIGHUP: for a master aurproxy supervises, through its supervisor (its
   * own child, never a pid read from a file); false when the child has already exited.
   * Default: `Deno.kill(master.pid, "SIGHUP")`.
   */
  readonly hangUp?: () => boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends SIGHUP to `master` and watches its children until the outcome is clear.
 *
 * A master that has just started may still be forking its first workers; one forked
 * after the "before" list was taken would pass for new. So first wait (at most 2 s) until
 * `expectedWorkers` accept.
 */
export async function reloadAndWatch(master: ProcInfo, o: ReloadWatch): Promise<ReloadOutcome> {
  const deadline = Date.now() + o.timeoutMs;
  const settleBy = Math.min(deadline, Date.now() + 2000);
  while (
    childrenOf(master).filter(accepting).length < (o.expectedWorkers ?? 1) &&
    Date.now() < settleBy && stillRunning(master)
  ) {
    await sleep(5);
  }
  const before = new Set(childrenOf(master).map((c) => c.pid));
  if (o.hangUp) {
    if (!o.hangUp()) return { kind: "exited" };
  } else Deno.kill(master.pid, "SIGHUP");
  let noneSince: number | undefined;
  let kids: NginxChild[] = [];
  while (Date.now() < deadline) {
    await sleep(5);
    if (!stillRunning(master)) return { kind: "exited" };
    kids = childrenOf(master);
    const fresh = kids.filter((k) => !before.has(k.pid) && k.role === "worker");
    const previous = kids.filter((k) => before.has(k.pid) && k.role === "worker");
    if (fresh.length > 0 && previous.length === 0) return { kind: "reloaded", workers: fresh };
    if (kids.some(accepting)) noneSince = undefined;
    else if (noneSince === undefined) noneSince = Date.now();
    else if (Date.now() - noneSince >= (o.settleMs ?? 100)) return { kind: "no_workers" };
  }
  const workers = kids.filter((k) => k.role === "worker");
  return workers.length ? { kind: "kept_previous", workers } : { kind: "no_workers" };
}
