/**
 * `aurproxy` (main.ts) as a subprocess started the way `deno task run` starts it: the
 * task's permission flags (read by {@linkcode taskRunFlags}, so they cannot drift) and only
 * the environment the test gives (no AWS or other settings of the machine running the
 * tests leak in). {@linkcode runAurproxy} runs it to its end; `aurproxy_process.ts` keeps
 * one running.
 *
 * @module
 */

import { taskRunFlags } from "./entry_points.ts";

/** The repository root: `deno task run`'s working directory. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** How to start aurproxy. */
export interface AurproxyCommandOptions {
  /** Environment variables besides PATH, HOME, DENO_DIR and NO_COLOR=1. */
  readonly env?: Record<string, string>;
  /** Working directory; default the repository root (as `deno task run`). */
  readonly cwd?: string;
  /** Deno's flags; default those of `deno task run`. */
  readonly flags?: readonly string[];
  /** Runs it under `prlimit --nofile=N` (a lowered descriptor limit). */
  readonly nofile?: number;
  /**
   * Its stdout to /dev/null instead of piped (a benchmark: the proxy's access log then
   * costs its own writes, not this process reading and keeping every line).
   */
  readonly discardStdout?: boolean;
}

/** The command running `aurproxy <args>`, its stdout (unless discarded) and stderr piped. */
export async function aurproxyCommand(
  args: readonly string[],
  o: AurproxyCommandOptions = {},
): Promise<Deno.Command> {
  const flags = o.flags ?? await taskRunFlags();
  const deno = [Deno.execPath(), "run", ...flags, `${ROOT}main.ts`, ...args];
  const [cmd, ...argv] = o.nofile === undefined
    ? deno
    : ["prlimit", `--nofile=${o.nofile}`, ...deno];
  const denoDir = Deno.env.get("DENO_DIR");
  return new Deno.Command(cmd, {
    args: argv,
    cwd: o.cwd ?? ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(denoDir ? { DENO_DIR: denoDir } : {}),
      NO_COLOR: "1",
      ...o.env,
    },
    stdin: "null",
    stdout: o.discardStdout ? "null" : "piped",
    stderr: "piped",
  });
}

/** A command that ran to its end. */
export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `aurproxy <args>` to its end (`validate`, `render`, `run --setup`, usage errors).
 *
 * @example
 * ```ts ignore
 * const r = await runAurproxy(["validate", "--config=/etc/aurproxy/config.json"]);
 * r.code; // 0 valid, 2 a config error
 * ```
 */
export async function runAurproxy(
  args: readonly string[],
  o: AurproxyCommandOptions = {},
): Promise<Finished> {
  const out = await (await aurproxyCommand(args, o)).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `aurproxy <args>` to its end; throws with its output unless it exits 0. */
export async function runAurproxyOk(
  args: readonly string[],
  o: AurproxyCommandOptions = {},
): Promise<Finished> {
  const r = await runAurproxy(args, o);
  if (r.code !== 0) {
    throw new Error(`aurproxy ${args.join(" ")} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  }
  return r;
}
