/**
 * A seamless reload of HAProxy, confirmed. Through the master CLI (`-S`): `reload`, after
 * which the master re-executes itself on the config file, starts a new worker that takes
 * the listening sockets over from the old one, and lets the old workers finish their
 * connections. Confirmed once the master counts one more reload and the new worker
 * answers, asked through the master (`@!<pid> show info`), which works even when the
 * stats socket's file was removed (a new worker inherits the old socket, not its path).
 * A configuration HAProxy cannot load shows as a failed reload, the old workers serving.
 *
 * For an HAProxy started without a master CLI: SIGUSR2 to the master its pid file names,
 * only when that process runs our config file, confirmed by a new worker on the stats
 * socket.
 *
 * @module
 */

import { readProc } from "../nginx/process.ts";
import type { MasterCli } from "./master_cli.ts";
import type { ProcList } from "./proc_list.ts";
import type { RuntimeApi } from "./runtime_api.ts";

/** The pid of the worker answering `api` (`show info`). */
export async function workerPid(api: RuntimeApi): Promise<number | undefined> {
  const pid = Number((await api.showInfo()).get("Pid"));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether worker `pid` answers, asked through the master. */
async function workerAnswers(master: MasterCli, pid: number): Promise<boolean> {
  const info = await master.command(`@!${pid} show info`).catch(() => "");
  return new RegExp(`^Pid:\\s*${pid}\\s*$`, "m").test(info);
}

/** How a reload ended. */
export type ReloadOutcome =
  | { readonly kind: "reloaded"; readonly procs: ProcList }
  | { readonly kind: "rejected"; readonly procs: ProcList }
  | { readonly kind: "timeout"; readonly detail: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Asks the master to reload and waits until the new worker answers (`reloaded`), the
 * master counts a failed reload (`rejected`: its old workers serve on), or `timeoutMs`
 * passes. Throws when the master cannot be reached at all.
 */
export async function reloadMaster(master: MasterCli, timeoutMs: number): Promise<ReloadOutcome> {
  const before = await master.showProc();
  const old = new Set(before.workers.map((w) => w.pid));
  // The master re-executes itself and drops the connection: the answer is not awaited.
  await master.command("reload").catch(() => "");
  const deadline = performance.now() + timeoutMs;
  let detail = "no answer from the master";
  while (performance.now() < deadline) {
    await sleep(5);
    const procs = await master.showProc().catch((err) => {
      detail = (err as Error).message;
      return undefined;
    });
    if (!procs || procs.master.reloads <= before.master.reloads) continue;
    // `[failed: N]` counts the reloads rejected in a row (measured on 2.6: 1, 2, then 0
    // after one that loads), so after this reload it is 0 exactly when it loaded.
    if (procs.failedReloads > 0) return { kind: "rejected", procs };
    const fresh = procs.workers.map((w) => w.pid).filter((p) => !old.has(p));
    if (!fresh.length) {
      detail = "the new worker has not started";
      continue;
    }
    if (await workerAnswers(master, fresh[0])) return { kind: "reloaded", procs };
    detail = `the new worker ${fresh[0]} does not answer`;
  }
  return { kind: "timeout", detail };
}

/**
 * Why the process in `pidPath` is not the HAProxy master running `configFile`, or
 * undefined when it is: only that process may be signalled.
 */
export function whyNotOurMaster(pidPath: string, configFile: string): string | undefined {
  let pid: number;
  try {
    pid = Number(Deno.readTextFileSync(pidPath).trim().split("\n")[0]);
  } catch {
    return `no pid file ${pidPath}`;
  }
  const proc = Number.isInteger(pid) && pid > 0 ? readProc(pid) : undefined;
  if (!proc) return `${pidPath} names pid ${pid}, which is not running`;
  if (!/haproxy/.test(proc.title) || !proc.title.includes(configFile)) {
    return `${pidPath} names pid ${pid} (${
      proc.title.slice(0, 80)
    }), not an HAProxy on ${configFile}`;
  }
  return undefined;
}

/**
 * SIGUSR2 to the master named by the pid file (only when it runs `configFile`), confirmed
 * once the stats socket answers from another worker. A reload HAProxy rejects shows only
 * as not confirmed.
 */
export async function reloadBySignal(
  pidPath: string,
  configFile: string,
  api: RuntimeApi,
  timeoutMs: number,
): Promise<{ readonly ok: true } | { readonly ok: false; readonly detail: string }> {
  const why = whyNotOurMaster(pidPath, configFile);
  if (why) return { ok: false, detail: why };
  const pid = Number(Deno.readTextFileSync(pidPath).trim().split("\n")[0]);
  const before = await workerPid(api).catch(() => undefined);
  if (before === undefined) {
    return { ok: false, detail: `the stats socket ${api.socketPath} does not answer` };
  }
  Deno.kill(pid, "SIGUSR2");
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    await sleep(5);
    const now = await workerPid(api).catch(() => undefined);
    if (now !== undefined && now !== before) return { ok: true };
  }
  return { ok: false, detail: `no new worker answered on ${api.socketPath} after SIGUSR2` };
}

/** What {@linkcode reloadHaproxy} needs. */
export interface ReloadTarget {
  readonly master: MasterCli;
  readonly api: RuntimeApi;
  readonly pidPath: string;
  readonly configFile: string;
  readonly timeoutMs: number;
  /** false: a master CLI that does not answer fails the reload (no SIGUSR2). */
  readonly signalFallback: boolean;
}

/**
 * Reloads HAProxy through its master CLI or, when none answers, by a signal to the master
 * its pid file names. `rejected`: HAProxy could not load the config, its old workers
 * serve the previous one; `failed`: not reloaded or not confirmed. `detail` says why, for
 * the operator.
 */
export async function reloadHaproxy(t: ReloadTarget): Promise<
  | { readonly kind: "reloaded" }
  | { readonly kind: "rejected" | "failed"; readonly detail: string }
> {
  const outcome = await reloadMaster(t.master, t.timeoutMs)
    .catch((err) => ({ kind: "unreachable" as const, detail: (err as Error).message }));
  switch (outcome.kind) {
    case "reloaded":
      return { kind: "reloaded" };
    case "timeout":
      return { kind: "failed", detail: `HAProxy's reload was not confirmed: ${outcome.detail}` };
    case "rejected":
      return {
        kind: "rejected",
        detail: `HAProxy (master ${outcome.procs.master.pid}) could not load the new config ` +
          `(its log says why, e.g. a port it cannot bind); its workers ` +
          `${outcome.procs.workers.map((w) => w.pid).join(", ")} serve the previous config`,
      };
    case "unreachable": {
      if (!t.signalFallback) {
        return {
          kind: "failed",
          detail: `HAProxy's master CLI ${t.master.socketPath} does not answer (${outcome.detail})`,
        };
      }
      // Started without -S: the pid file names the master; a signal reloads it.
      const signalled = await reloadBySignal(t.pidPath, t.configFile, t.api, t.timeoutMs);
      if (signalled.ok) return { kind: "reloaded" };
      return {
        kind: "failed",
        detail: `no HAProxy master answers on ${t.master.socketPath} (${outcome.detail}) ` +
          `and none could be signalled (${signalled.detail})`,
      };
    }
  }
}
