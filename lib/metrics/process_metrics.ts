/**
 * The standard `process_*` metrics every Prometheus client exports (CPU seconds, resident
 * and virtual memory, open and maximum file descriptors, start time) plus the V8 heap,
 * refreshed before each scrape and publish.
 *
 * CPU comes from `getrusage` (node:process) and resident memory from Deno itself, so those
 * two need no permission; virtual memory and descriptors come from `/proc/self`, which
 * Deno 2 opens only under `--allow-all` (how the entry points run). Without it, or off
 * Linux, those three are left out rather than guessed.
 *
 * @module
 */

import process from "node:process";
import type { MetricsRegistry } from "./registry.ts";

/** Reads `/proc/self` (injected for tests). */
export interface ProcReader {
  readText(path: string): Promise<string>;
  /** Number of entries in a directory. */
  count(path: string): Promise<number>;
}

/** The real `/proc`. */
export const procFs: ProcReader = {
  readText: (path) => Deno.readTextFile(path),
  count: async (path) => {
    let n = 0;
    for await (const _ of Deno.readDir(path)) n++;
    return n;
  },
};

export interface ProcessMetricsOptions {
  readonly proc?: ProcReader;
  /** Process start, seconds since the epoch (default: this process' time origin). */
  readonly startTimeSeconds?: number;
}

/** `Max open files` soft limit from `/proc/self/limits` ("unlimited" → undefined). */
export function maxOpenFiles(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return m && m[1] !== "unlimited" ? Number(m[1]) : undefined;
}

/** `VmSize` from `/proc/self/status`, in bytes. */
export function virtualMemoryBytes(status: string): number | undefined {
  const m = /^VmSize:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 *
 * const metrics = new MetricsRegistry("aurproxy");
 * const proc = new ProcessMetrics(metrics);
 * await proc.collect(); // process_cpu_seconds_total, process_resident_memory_bytes, ...
 * ```
 */
export class ProcessMetrics {
  readonly #metrics: MetricsRegistry;
  readonly #root: MetricsRegistry;
  readonly #proc: ProcReader;
  readonly #start: number;
  #procReadable = true;

  constructor(metrics: MetricsRegistry, o: ProcessMetricsOptions = {}) {
    this.#metrics = metrics;
    this.#root = metrics.root();
    this.#proc = o.proc ?? procFs;
    this.#start = o.startTimeSeconds ?? performance.timeOrigin / 1000;
  }

  /** Sets every metric to its current value. Never throws. */
  async collect(): Promise<void> {
    const r = this.#root;
    const cpu = process.cpuUsage();
    r.setCounter(
      "process_cpu_seconds_total",
      "Total user and system CPU time spent in seconds.",
      (cpu.user + cpu.system) / 1e6,
    );
    const mem = Deno.memoryUsage();
    r.set("process_resident_memory_bytes", "Resident memory size in bytes.", mem.rss);
    r.set(
      "process_start_time_seconds",
      "Start time of the process since unix epoch in seconds.",
      this.#start,
    );
    this.#metrics.set("process_heap_used_bytes", "JavaScript heap in use.", mem.heapUsed);
    if (!this.#procReadable) return;
    try {
      const [status, limits, fds] = await Promise.all([
        this.#proc.readText("/proc/self/status"),
        this.#proc.readText("/proc/self/limits"),
        this.#proc.count("/proc/self/fd"),
      ]);
      const vm = virtualMemoryBytes(status);
      if (vm !== undefined) {
        r.set("process_virtual_memory_bytes", "Virtual memory size in bytes.", vm);
      }
      r.set("process_open_fds", "Number of open file descriptors.", fds);
      const max = maxOpenFiles(limits);
      if (max !== undefined) {
        r.set("process_max_fds", "Maximum number of open file descriptors.", max);
      }
    } catch {
      // No /proc (not Linux) or no permission to read it: stop trying, report the rest.
      this.#procReadable = false;
    }
  }
}
