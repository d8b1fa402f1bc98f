/**
 * aurproxy as `deno task run` starts it: the permission flags of deno.json's `run` task
 * (not `--allow-all`), optionally under `prlimit` (a lowered descriptor limit), with its
 * output kept for assertions. For tests of what the process survives.
 *
 * @module
 */

import { waitForPort } from "./ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;

/** The Deno flags `deno task run` passes (read from deno.json, so they stay the same). */
export async function taskRunFlags(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = String(deno.tasks.run).split(/\s+/);
  const start = words.indexOf("run");
  const end = words.indexOf("main.ts");
  if (words[0] !== "deno" || start !== 1 || end < 0) {
    throw new Error(`unexpected run task: ${deno.tasks.run}`);
  }
  return words.slice(start + 1, end);
}

export interface TaskProcessOptions {
  /** Arguments after `main.ts` (`["run", "--config=...", ...]`). */
  readonly args: readonly string[];
  /** The descriptor limit to run under (`prlimit --nofile=N`); default: unchanged. */
  readonly nofile?: number;
}

/** A running aurproxy process. */
export interface TaskProcess {
  readonly pid: number;
  /** Resolves when the process exits. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** True while it runs. */
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
}

/**
 * @example
 * ```ts
 * const p = await spawnTask({ args: ["run", "--setup", "--config=c.json", "--management-port=0"] });
 * await p.status;
 * ```
 */
export async function spawnTask(o: TaskProcessOptions): Promise<TaskProcess> {
  const deno = [Deno.execPath(), "run", ...await taskRunFlags(), MAIN, ...o.args];
  const [cmd, ...args] = o.nofile === undefined
    ? deno
    : ["prlimit", `--nofile=${o.nofile}`, ...deno];
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const drain = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  let alive = true;
  const status = child.status.then(async (s) => {
    alive = false;
    await drained;
    return s;
  });
  return {
    pid: child.pid,
    status,
    output: () => out,
    running: () => alive,
    stop: async (graceMs = 10_000) => {
      if (!alive) return await status;
      child.kill("SIGTERM");
      const timer = setTimeout(() => alive && child.kill("SIGKILL"), graceMs);
      try {
        return await status;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs `args` to the end (e.g. `run --setup`); throws with its output when it fails. */
export async function runTask(args: readonly string[]): Promise<string> {
  const p = await spawnTask({ args });
  const s = await p.status;
  if (!s.success) throw new Error(`aurproxy ${args.join(" ")} exited ${s.code}:\n${p.output()}`);
  return p.output();
}

/** Waits until `port` accepts connections, or throws with the process's output. */
export async function waitForManagement(p: TaskProcess, port: number, ms = 30_000) {
  try {
    await Promise.race([
      waitForPort(port, ms),
      p.status.then((s) => {
        throw new Error(`exited ${s.code} before listening`);
      }),
    ]);
  } catch (err) {
    throw new Error(`aurproxy did not start: ${(err as Error).message}\n${p.output()}`);
  }
}
