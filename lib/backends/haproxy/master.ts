/**
 * The HAProxy master, through its CLI (`-S <socket>`): its processes (`show proc`) and a
 * seamless reload (`reload`: the master re-executes itself on the config file, starts a
 * new worker that takes the listening sockets over from the old one, and lets the old
 * workers finish their connections). A reload is confirmed once the master counts one
 * more reload and the new worker answers (asked through the master, which works even
 * when the stats socket's file was removed: the new worker inherits the old socket, not
 * its path); a reload HAProxy could not load shows as one more failed reload, the old
 * workers still serving.
 *
 * @module
 */

import { readProc } from "../nginx/process.ts";
import { socketCommand } from "./socket_command.ts";

/** What `show proc` reports. */
export interface ProcTable {
  readonly master: number;
  readonly reloads: number;
  readonly failed: number;
  /** Current workers (the newest generation). */
  readonly workers: readonly number[];
  /** Workers of earlier generations, still draining. */
  readonly oldWorkers: readonly number[];
}

/**
 * Parses the master CLI's `show proc`.
 *
 * @example
 * ```ts
 * const t = parseShowProc(
 *   "#<PID> <type> <reloads> <uptime> <version>\n1 master 2 [failed: 0] 0d 2.6\n# workers\n7 worker 0 0d 2.6\n# old workers\n5 worker 1 0d 2.6\n",
 * );
 * t.workers; // [7]
 * ```
 */
export function parseShowProc(text: string): ProcTable {
  let master = 0, reloads = 0, failed = 0;
  const workers: number[] = [];
  const oldWorkers: number[] = [];
  let section: "master" | "workers" | "old" | "other" = "master";
  for (const line of text.split("\n")) {
    if (line.startsWith("# workers")) section = "workers";
    else if (line.startsWith("# old workers")) section = "old";
    else if (line.startsWith("# ")) section = "other";
    if (line.startsWith("#") || !line.trim()) continue;
    const f = line.trim().split(/\s+/);
    if (f[1] === "master") {
      master = Number(f[0]);
      reloads = Number(f[2]);
      failed = Number(/failed:\s*(\d+)/.exec(line)?.[1] ?? 0);
    } else if (f[1] === "worker" && section === "workers") workers.push(Number(f[0]));
    else if (f[1] === "worker" && section === "old") oldWorkers.push(Number(f[0]));
  }
  if (!master) throw new Error(`not an HAProxy master's show proc: ${text.slice(0, 80)}`);
  return { master, reloads, failed, workers, oldWorkers };
}

/** The master's process table. */
export async function showProc(masterSocket: string): Promise<ProcTable> {
  return parseShowProc(await socketCommand(masterSocket, "show proc", 2000));
}

/** The pid of the process answering on the stats socket. */
export async function statsPid(statsSocket: string): Promise<number | undefined> {
  return pidOf(await socketCommand(statsSocket, "show info", 1000));
}

function pidOf(info: string): number | undefined {
  const m = /^Pid:\s*(\d+)/m.exec(info);
  return m ? Number(m[1]) : undefined;
}

/** Whether worker `pid` answers, asked through the master (`@!<pid> show info`). */
async function workerAnswers(masterSocket: string, pid: number): Promise<boolean> {
  const info = await socketCommand(masterSocket, `@!${pid} show info`, 1000).catch(() => "");
  return pidOf(info) === pid;
}

/** How a reload ended. */
export type ReloadOutcome =
  | { readonly kind: "reloaded"; readonly table: ProcTable }
  | { readonly kind: "rejected"; readonly table: ProcTable }
  | { readonly kind: "timeout"; readonly detail: string };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Asks the master to reload and waits until the new worker answers (`reloaded`), the master counts a failed reload (`rejected`: its old workers serve
 * on), or `timeoutMs` passes.
 */
export async function reloadMaster(
  masterSocket: string,
  timeoutMs: number,
): Promise<ReloadOutcome> {
  const before = await showProc(masterSocket);
  // The master re-executes itself and drops the connection: the answer is not awaited.
  await socketCommand(masterSocket, "reload", 2000).catch(() => "");
  const deadline = performance.now() + timeoutMs;
  let detail = "no answer from the master";
  while (performance.now() < deadline) {
    await sleep(5);
    const table = await showProc(masterSocket).catch((err) => {
      detail = (err as Error).message;
      return undefined;
    });
    if (!table) continue;
    if (table.failed > before.failed) return { kind: "rejected", table };
    const fresh = table.workers.filter((p) => !before.workers.includes(p));
    if (table.reloads <= before.reloads || !fresh.length) {
      detail = "the new worker has not started";
      continue;
    }
    if (await workerAnswers(masterSocket, fresh[0])) return { kind: "reloaded", table };
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
 * For an HAProxy started without a master CLI (`-S`): SIGUSR2 to the master named by the
 * pid file (only when it runs `configFile`), confirmed once the stats socket answers from
 * another worker. A reload HAProxy rejects shows only as not confirmed.
 */
export async function reloadBySignal(
  pidPath: string,
  configFile: string,
  statsSocket: string,
  timeoutMs: number,
): Promise<{ readonly ok: true } | { readonly ok: false; readonly detail: string }> {
  const why = whyNotOurMaster(pidPath, configFile);
  if (why) return { ok: false, detail: why };
  const pid = Number(Deno.readTextFileSync(pidPath).trim().split("\n")[0]);
  const before = await statsPid(statsSocket).catch(() => undefined);
  if (before === undefined) {
    return { ok: false, detail: `the stats socket ${statsSocket} does not answer` };
  }
  Deno.kill(pid, "SIGUSR2");
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    await sleep(5);
    const now = await statsPid(statsSocket).catch(() => undefined);
    if (now !== undefined && now !== before) return { ok: true };
  }
  return { ok: false, detail: `no new worker answered on ${statsSocket} after SIGUSR2` };
}
