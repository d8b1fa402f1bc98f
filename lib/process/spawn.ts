/**
 * Starting one child with `Deno.Command`, as the leader of its own process group, with its
 * output streams wired to aurproxy's log; the handle the {@linkcode Supervisor} keeps.
 *
 * @module
 */

import type { Level, Logger } from "../log.ts";
import { forwardLines } from "./lines.ts";
import type { OutputMode, OutputStream, ProcessSpec, SupervisorOptions } from "./options.ts";

/** A started child: its pid, its end, the end of its output, and a way to signal it. */
export interface ChildProcessHandle {
  readonly pid: number;
  /** Resolves when the child has exited (it is reaped). */
  readonly status: Promise<Deno.CommandStatus>;
  /** Resolves when every forwarded stream reached its end (or reading was stopped). */
  readonly output: Promise<void>;
  /** Signals the child itself; false when it has already exited. */
  kill(signal: Deno.Signal): boolean;
  /** Stops reading the child's output (the pipes are closed on our side). */
  stopReading(): void;
}

/** What {@linkcode spawnChild} needs from the supervisor's options. */
export type SpawnOptions = Pick<
  SupervisorOptions,
  "stdout" | "stderr" | "maxLineBytes" | "lineLevel"
>;

/**
 * Spawns `spec` now. Throws what `Deno.Command.spawn` throws when the program cannot be
 * started (`Deno.errors.NotFound` for a missing binary, `PermissionDenied`, …). Output in
 * `"log"` mode goes to `log.child("stderr")` / `log.child("stdout")`, one entry a line.
 *
 * @example
 * ```ts
 * import { spawnChild } from "./spawn.ts";
 * import { consoleLogger } from "../log.ts";
 * const child = spawnChild({ argv: ["sh", "-c", "echo hi >&2"] }, {}, consoleLogger());
 * await child.status; // logged: "INFO stderr: hi"
 * await child.output;
 * ```
 */
export function spawnChild(
  spec: ProcessSpec,
  options: SpawnOptions,
  log: Logger,
): ChildProcessHandle {
  const [program, ...args] = spec.argv;
  const stdout = options.stdout ?? "ignore";
  const stderr = options.stderr ?? "log";
  const proc = new Deno.Command(program, {
    args,
    env: spec.env ? { ...spec.env } : undefined,
    clearEnv: spec.clearEnv,
    cwd: spec.cwd,
    stdin: "null",
    stdout: pipeMode(stdout),
    stderr: pipeMode(stderr),
    // setsid: the child leads a process group the supervisor can kill as a whole.
    detached: true,
  }).spawn();
  const reading = new AbortController();
  const pumps: Promise<void>[] = [];
  const pump = (mode: OutputMode, stream: OutputStream, source: () => ReadableStream) => {
    if (mode !== "log") return;
    const out = log.child(stream);
    const emit = (line: string) => {
      let level: Level = "info";
      try {
        level = options.lineLevel?.(line, stream) ?? "info";
      } catch {
        // A broken classifier must not stop the reading (the child would block): info.
      }
      out[level](line);
    };
    pumps.push(
      forwardLines(source(), emit, {
        maxLineBytes: options.maxLineBytes,
        signal: reading.signal,
      }).catch((err) => log.warn(`reading ${stream} failed`, err)),
    );
  };
  pump(stdout, "stdout", () => proc.stdout);
  pump(stderr, "stderr", () => proc.stderr);
  return {
    pid: proc.pid,
    status: proc.status,
    output: Promise.all(pumps).then(() => {}),
    kill(signal) {
      try {
        proc.kill(signal);
        return true;
      } catch {
        // Deno throws once the child has exited and been reaped: nothing to signal.
        return false;
      }
    },
    stopReading: () => reading.abort(),
  };
}

function pipeMode(mode: OutputMode): "piped" | "null" | "inherit" {
  return mode === "log" ? "piped" : mode === "ignore" ? "null" : "inherit";
}
