/**
 * What a supervisor reports when its child exits (or could not be started), as data for
 * listeners and the status page, and as one readable log line.
 *
 * @module
 */

/** One end of a child process: how it ended, after how long, and what happens next. */
export interface ChildExit {
  /** The supervised process's name (as in the logs). */
  readonly name: string;
  /** Undefined when the process could not be started at all. */
  readonly pid?: number;
  /** Exit code; for a child killed by a signal Deno reports 128 + the signal number. */
  readonly code: number | null;
  /** The signal that killed the child, if one did. */
  readonly signal: Deno.Signal | null;
  /** How long the child ran, on the supervisor's clock. */
  readonly uptimeMs: number;
  /** When it ended (epoch ms, supervisor's clock). */
  readonly at: number;
  /** True when the exit was asked for ({@linkcode Supervisor.stop} or a restart). */
  readonly requested: boolean;
  /** Why the process could not be started (binary missing, not executable, …). */
  readonly error?: string;
  /** Set when the supervisor will start the child again after this many ms. */
  readonly restartInMs?: number;
}

/**
 * A one-line account of an exit for the log.
 *
 * @example
 * ```ts
 * import { describeExit } from "./exit.ts";
 * describeExit({
 *   name: "nginx", pid: 42, code: 1, signal: null, uptimeMs: 1500, at: 0, requested: false,
 *   restartInMs: 500,
 * }); // "pid 42 exited with code 1 after 1.5 s; restarting in 0.5 s"
 * ```
 */
export function describeExit(exit: ChildExit): string {
  const how = exit.error !== undefined
    ? `could not be started: ${exit.error}`
    : `pid ${exit.pid} ${
      exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
    } after ${seconds(exit.uptimeMs)}`;
  const next = exit.restartInMs !== undefined
    ? `; restarting in ${seconds(exit.restartInMs)}`
    : exit.requested
    ? " (stopped)"
    : "";
  return how + next;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
