/**
 * Looking at and signalling a process that is not aurproxy's child (gor, started by
 * Thermos), by pid: its command line and start time from Linux's `/proc`. The start time
 * tells one process from a later one that reuses its pid.
 *
 * @module
 */

/** What `/proc` says about a live process. */
export interface ProcessInfo {
  /** The command line, one element per argument (`/proc/<pid>/cmdline`). */
  readonly argv: readonly string[];
  /** Clock ticks since boot at which it started (`/proc/<pid>/stat`, field 22). */
  readonly startTime: string;
}

/** The process table, as the mirror updater needs it; Linux's by default. */
export interface ProcessTable {
  /** The process `pid`, or undefined when there is none alive (gone, or a zombie). */
  inspect(pid: number): Promise<ProcessInfo | undefined>;
  /** Sends `signal`; a process already gone is not an error. */
  signal(pid: number, signal: Deno.Signal): void;
}

/**
 * State and start time from the text of `/proc/<pid>/stat`. The command name (field 2)
 * is in parentheses and may itself hold spaces and parentheses: fields are counted from
 * the last `)`.
 *
 * @example
 * ```ts
 * parseProcStat("42 (gor) S 1 42 42 0 -1 4194560 99 0 0 0 0 0 0 0 20 0 1 0 123456 ...");
 * // { state: "S", startTime: "123456" }
 * ```
 */
export function parseProcStat(text: string): { state: string; startTime: string } | undefined {
  const end = text.lastIndexOf(")");
  if (end < 0) return undefined;
  const fields = text.slice(end + 1).trim().split(/\s+/);
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields.length < 20) return undefined;
  return { state: fields[0], startTime: fields[19] };
}

/** `/proc/<pid>/cmdline`: NUL-separated arguments, usually NUL-terminated. */
export function parseProcCmdline(text: string): string[] {
  const parts = text.split("\0");
  if (parts.at(-1) === "") parts.pop();
  return parts;
}

/**
 * A file under `/proc`, or undefined when it is gone. Deno 2 reads `/proc` only with every
 * permission granted, as every entry point runs aurproxy (`-A`; `run` refuses to start
 * without it).
 */
async function readProcFile(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

async function stat(pid: number) {
  const text = await readProcFile(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseProcStat(text);
}

/** Linux's process table through `/proc`. */
export const linuxProcessTable: ProcessTable = {
  async inspect(pid) {
    const before = await stat(pid);
    if (!before || before.state === "Z" || before.state === "X") return undefined;
    const cmdline = await readProcFile(`/proc/${pid}/cmdline`);
    // Read again: the same start time means the command line is of the same process.
    const after = await stat(pid);
    if (cmdline === undefined || !after || after.startTime !== before.startTime) return undefined;
    return { argv: parseProcCmdline(cmdline), startTime: before.startTime };
  },
  signal(pid, signal) {
    try {
      Deno.kill(pid, signal);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
  },
};
