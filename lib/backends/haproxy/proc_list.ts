/**
 * The master CLI's `show proc`, parsed: the master, its current workers, the old workers
 * still finishing connections after a reload, and how many reloads failed.
 *
 * @module
 */

/** One process of `show proc`. */
export interface ProcEntry {
  readonly pid: number;
  readonly type: "master" | "worker" | "program";
  /**
   * For the master, reloads since it started; for a worker, reloads it has lived
   * through (0: the newest).
   */
  readonly reloads: number;
  /** As HAProxy prints it, e.g. `0d00h00m36s`. */
  readonly uptime: string;
  readonly version: string;
}

/** Everything `show proc` lists. */
export interface ProcList {
  readonly master: ProcEntry;
  /**
   * The master's `[failed: N]`: reloads whose configuration did not load since the last
   * one that did (0 after a success).
   */
  readonly failedReloads: number;
  /** The workers serving the current configuration. */
  readonly workers: readonly ProcEntry[];
  /** Workers of earlier configurations, still finishing their connections. */
  readonly oldWorkers: readonly ProcEntry[];
  readonly programs: readonly ProcEntry[];
}

/**
 * Parses `show proc`. Throws when there is no master line.
 *
 * @example
 * ```ts
 * // Captured from HAProxy 2.6.12 just after a reload, with a connection still open.
 * const text = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
 *   "3473            master          1 [failed: 0]   0d00h00m01s     2.6.12-1+deb12u4\n" +
 *   "# workers\n3583            worker          0               0d00h00m00s     2.6.12-1+deb12u4\n" +
 *   "# old workers\n3488            worker          1               0d00h00m01s     2.6.12-1+deb12u4\n" +
 *   "# programs\n\n";
 * const procs = parseShowProc(text);
 * procs.master.pid; // 3473
 * procs.workers.map((w) => w.pid); // [3583]
 * procs.oldWorkers.map((w) => w.pid); // [3488]
 * ```
 */
export function parseShowProc(text: string): ProcList {
  let master: ProcEntry | undefined;
  let failedReloads = 0;
  const sections: Record<string, ProcEntry[]> = { workers: [], "old workers": [], programs: [] };
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#<")) continue;
    if (line.startsWith("# ")) {
      section = line.slice(2).trim();
      continue;
    }
    const failed = line.match(/\[failed:\s*(\d+)\]/);
    const f = line.replace(/\[failed:\s*\d+\]/, "").trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0])) continue;
    const entry: ProcEntry = {
      pid: Number(f[0]),
      type: f[1] === "master" ? "master" : f[1] === "worker" ? "worker" : "program",
      reloads: Number(f[2]),
      uptime: f[3],
      version: f[4] ?? "",
    };
    if (entry.type === "master") {
      master = entry;
      failedReloads = failed ? Number(failed[1]) : 0;
    } else {
      (sections[section] ?? (sections[section] = [])).push(entry);
    }
  }
  if (!master) throw new Error(`show proc: no master line: ${JSON.stringify(text.slice(0, 120))}`);
  return {
    master,
    failedReloads,
    workers: sections.workers,
    oldWorkers: sections["old workers"],
    programs: sections.programs,
  };
}
