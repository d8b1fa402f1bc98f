/**
 * What /proc says about a process aurproxy did not start (the nginx master and its
 * children): whether it runs, its title, its children and what each of them is.
 *
 * nginx retitles its processes by overwriting its argv, so `/proc/<pid>/cmdline` reads
 * `nginx: master process <the command line it was started with>`, `nginx: worker
 * process`, `nginx: worker process is shutting down`, `nginx: cache manager process`. A
 * worker sets its title only after its initialisation (where `malloc()` of its connections
 * fails), so a child titled "worker process" is one that accepts connections; a child
 * still carrying the master's title was forked a moment ago and is about to.
 *
 * Deno refuses every read under /proc unless it runs with `--allow-all`; that is reported
 * as `ProcAccessError` (`lib/process/proc_access.ts`), never mistaken for "no such process".
 *
 * @module
 */

import { readProcFile } from "../../process/proc_access.ts";

/** One process as /proc shows it. */
export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  /** `R`, `S`, `D`, `Z` (exited, not yet reaped: as good as gone), ... */
  readonly state: string;
  /** Start time in clock ticks after boot: with the pid, it names one process for good. */
  readonly startTicks: number;
  /** The command line with NULs as spaces, trimmed: nginx's title. */
  readonly title: string;
}

/** The process `pid`, or undefined when there is none (or it is a zombie). */
export function readProc(pid: number): ProcInfo | undefined {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The name (field 2) is in parentheses and may itself contain ") ".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (rest[0] === "Z") return undefined;
  const cmd = readProcFile(`/proc/${pid}/cmdline`) ?? "";
  return {
    pid,
    ppid: Number(rest[1]),
    state: rest[0],
    startTicks: Number(rest[19]),
    title: cmd.replaceAll("\0", " ").trim(),
  };
}

/** True when a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  return readProc(pid) !== undefined;
}

/** True while the very process `p` runs: same pid, same start time, not a zombie. */
export function stillRunning(p: Pick<ProcInfo, "pid" | "startTicks">): boolean {
  return readProc(p.pid)?.startTicks === p.startTicks;
}

/** Pids of the direct children of `pid` (nginx workers and cache processes). */
export function childPids(pid: number): Set<number> {
  const text = readProcFile(`/proc/${pid}/task/${pid}/children`);
  if (text !== undefined) return new Set(text.trim().split(/\s+/).filter(Boolean).map(Number));
  // Kernels without CONFIG_PROC_CHILDREN (or the master is gone): scan every parent.
  const out = new Set<number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (/^\d+$/.test(e.name) && readProc(Number(e.name))?.ppid === pid) out.add(Number(e.name));
  }
  return out;
}

/**
 * What a child of an nginx master is: `forking` (just forked, still the master's title:
 * about to accept), `worker` (accepting), `retiring` (an old worker finishing its
 * requests after a reload), `helper` (cache manager or loader, never accepting).
 */
export type ChildRole = "forking" | "worker" | "retiring" | "helper";

/** A child of the master, with its role. */
export interface NginxChild extends ProcInfo {
  readonly role: ChildRole;
}

function roleOf(title: string, masterTitle: string): ChildRole {
  if (title === masterTitle) return "forking";
  if (title.includes("shutting down")) return "retiring";
  if (title.includes("worker process")) return "worker";
  return "helper";
}

/** The children of `master` now, each with its role. */
export function childrenOf(master: ProcInfo): NginxChild[] {
  const out: NginxChild[] = [];
  for (const pid of childPids(master.pid)) {
    const p = readProc(pid);
    if (p && p.ppid === master.pid) out.push({ ...p, role: roleOf(p.title, master.title) });
  }
  return out;
}

/** True when a child accepts connections or is about to (a worker, or one just forked). */
export const accepting = (c: NginxChild): boolean => c.role === "worker" || c.role === "forking";
