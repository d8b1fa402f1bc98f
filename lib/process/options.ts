/**
 * What a {@linkcode Supervisor} runs and how it treats the child: the process spec, the
 * stop signal and deadline, the restart schedule and where the child's output goes; and
 * the status and events it reports back, all as plain data.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Level, Logger } from "../log.ts";
import type { BackoffPolicy } from "./backoff.ts";
import type { ChildExit } from "./exit.ts";

/** The command line and environment of the child; replaced as a whole on a restart. */
export interface ProcessSpec {
  /** The program and its arguments: `["nginx", "-g", "daemon off;", "-c", path]`. */
  readonly argv: readonly string[];
  /** Variables added to (or, with `clearEnv`, replacing) aurproxy's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Start the child with only `env`, not aurproxy's environment. */
  readonly clearEnv?: boolean;
  /** Working directory; aurproxy's own when unset. */
  readonly cwd?: string;
}

/**
 * Where one of the child's output streams goes: `"log"` forwards it line by line into
 * aurproxy's log, `"ignore"` discards it, `"inherit"` writes it straight to aurproxy's own
 * stream (unprefixed, unbounded: for debugging).
 */
export type OutputMode = "log" | "ignore" | "inherit";

/** Which of the child's streams a line came from. */
export type OutputStream = "stdout" | "stderr";

/** Everything a {@linkcode Supervisor} is built with. */
export interface SupervisorOptions extends ProcessSpec {
  /** Names the child in log lines (`nginx: …`, `nginx.stderr: …`) and in its status. */
  readonly name: string;
  readonly logger: Logger;
  /** Times the backoff, the stop deadline and uptimes; {@linkcode systemClock} by default. */
  readonly clock?: Clock;
  /** Asks the child to exit: SIGTERM by default; nginx's graceful stop is SIGQUIT. */
  readonly stopSignal?: Deno.Signal;
  /** How long a stopping child has before it (and its process group) gets SIGKILL. */
  readonly stopTimeoutMs?: number;
  /** Restart schedule after unexpected exits; missing fields from `DEFAULT_BACKOFF`. */
  readonly backoff?: Partial<BackoffPolicy>;
  /**
   * A child counts as `"starting"` until it has been up this long, then `"running"`. One
   * that exits before (a bad config, a port in use) never got going.
   */
  readonly startingMs?: number;
  /** Default `"ignore"`. */
  readonly stdout?: OutputMode;
  /** Default `"log"`. */
  readonly stderr?: OutputMode;
  /** Bound on one forwarded line in bytes (longer lines are cut). */
  readonly maxLineBytes?: number;
  /** The log level of a forwarded line; `"info"` for every line by default. */
  readonly lineLevel?: (line: string, stream: OutputStream) => Level;
  /**
   * After the child exits, how long to wait for the rest of its output before reporting
   * the exit anyway (a stray grandchild may hold the pipe open).
   */
  readonly drainTimeoutMs?: number;
}

/**
 * `starting`/`running`: a child is up (younger or older than `startingMs`); `backing_off`:
 * it died and the next start is scheduled; `stopping`: it was asked to exit; `stopped`:
 * nothing runs and nothing is scheduled.
 */
export type SupervisorState = "starting" | "running" | "backing_off" | "stopping" | "stopped";

/** A snapshot of a supervisor, for the status page and for tests. */
export interface SupervisorStatus {
  readonly name: string;
  readonly state: SupervisorState;
  /** The command line of the current child (or of the next one to start). */
  readonly argv: readonly string[];
  /** The running child's pid. */
  readonly pid?: number;
  /** When the running child was started (epoch ms on the supervisor's clock). */
  readonly startedAt?: number;
  /** How many times a child was started again after an unexpected exit. */
  readonly restarts: number;
  /** Unexpected exits in a row (reset when a child stays up `backoff.resetAfterMs`). */
  readonly failures: number;
  /** When backing off: when the next start is due. */
  readonly nextStartAt?: number;
  readonly lastExit?: ChildExit;
}

/** What a supervisor tells its listeners. */
export type SupervisorEvent =
  | {
    readonly kind: "started";
    readonly name: string;
    readonly pid: number;
    readonly argv: readonly string[];
    readonly at: number;
  }
  | { readonly kind: "exited"; readonly exit: ChildExit };
