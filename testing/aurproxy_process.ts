/**
 * One running `aurproxy` (main.ts), started as `deno task run` starts it (see
 * `aurproxy_command.ts`): its stdout and stderr kept line by line with the time each line
 * arrived (so a test can order what aurproxy logged against what it saw itself), a wait
 * for a log line or the management port, the port's /health and /metrics.json, and the
 * ways it ends (/quitquitquit, SIGTERM, SIGKILL) with the exit timed the same way.
 *
 * @module
 */

import { aurproxyCommand, type AurproxyCommandOptions } from "./aurproxy_command.ts";
import { waitForPort } from "./ports.ts";

export type { Finished } from "./aurproxy_command.ts";
export { runAurproxy } from "./aurproxy_command.ts";

/** One line aurproxy wrote. */
export interface LogLine {
  /** `performance.now()` of the test process when the line arrived. */
  readonly at: number;
  readonly text: string;
}

/** How a spawned aurproxy ended. */
export interface Exit {
  readonly code: number;
  readonly signal: Deno.Signal | null;
  /** `performance.now()` when the test saw the process end. */
  readonly at: number;
}

/** How to start it, and where its management port is (for the methods that use it). */
export interface SpawnOptions extends AurproxyCommandOptions {
  readonly mgmtPort?: number;
}

/** A running `aurproxy` process. */
export interface AurproxyProcess extends AsyncDisposable {
  readonly pid: number;
  /** stderr (its log), line by line. */
  readonly lines: readonly LogLine[];
  /** Everything written to stderr so far. */
  log(): string;
  /** Everything written to stdout and stderr so far, as it arrived. */
  output(): string;
  /** Resolves with the first stderr line matching `pattern`. */
  waitForLine(pattern: RegExp | string, timeoutMs?: number): Promise<LogLine>;
  /** The first stderr line matching `pattern`, or undefined. */
  line(pattern: RegExp | string): LogLine | undefined;
  /** Resolves once `port` (default the management port) listens; throws with the log if it exits first. */
  listening(port?: number, timeoutMs?: number): Promise<void>;
  /** `GET /health/details` of the management port: the level line and every reason. */
  healthDetails(): Promise<string>;
  /** `/metrics.json` of the management port. */
  metrics(): Promise<Record<string, number>>;
  /** Resolves once the process has ended and its output is read. */
  readonly exited: Promise<Exit>;
  /** True until the process has ended. */
  readonly alive: boolean;
  /** How it ended, once it has (undefined while it runs). */
  exit(): Exit | undefined;
  kill(signal: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  terminate(graceMs?: number): Promise<Exit>;
  /** POST /quitquitquit (SIGTERM if that fails), SIGKILL after `graceMs`; resolves once it exited. */
  quit(graceMs?: number): Promise<Exit>;
  /** Kills it (SIGKILL) if still running and waits for it. */
  stop(): Promise<void>;
}

const matches = (pattern: RegExp | string) => (l: LogLine) =>
  typeof pattern === "string" ? l.text.includes(pattern) : pattern.test(l.text);

async function readLines(
  stream: ReadableStream<Uint8Array>,
  into: LogLine[],
  raw: (chunk: string) => void,
) {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const at = performance.now();
    raw(chunk);
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const text of parts) into.push({ at, text });
  }
  if (rest) into.push({ at: performance.now(), text: rest });
}

/**
 * Spawns `aurproxy <args>` (usually `run ...`).
 *
 * @example
 * ```ts ignore
 * await using p = await spawnAurproxy(["run", "--management-port=31325", `--config=${path}`]);
 * await p.waitForLine("management port listening");
 * ```
 */
export async function spawnAurproxy(
  args: readonly string[],
  o: SpawnOptions = {},
): Promise<AurproxyProcess> {
  const child = (await aurproxyCommand(args, o)).spawn();
  const lines: LogLine[] = [];
  let output = "";
  const raw = (chunk: string) => (output += chunk);
  let alive = true;
  let exit: Exit | undefined;
  const drained = Promise.all([
    o.discardStdout ? undefined : readLines(child.stdout, [], raw),
    readLines(child.stderr, lines, raw),
  ]).catch(() => {});
  const exited = child.status.then(async (s) => {
    exit = { code: s.code, signal: s.signal, at: performance.now() };
    alive = false;
    await drained;
    return exit;
  });
  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // Ended meanwhile.
    }
  };
  const stop = async () => {
    if (alive) signal("SIGKILL");
    await exited;
  };
  const endWithin = async (graceMs: number) => {
    const timer = setTimeout(() => alive && signal("SIGKILL"), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  const log = () => lines.map((l) => l.text).join("\n");
  const mgmt = (path: string, init?: RequestInit) => {
    if (o.mgmtPort === undefined) throw new Error("spawnAurproxy: no mgmtPort given");
    return fetch(`http://127.0.0.1:${o.mgmtPort}${path}`, init);
  };
  return {
    pid: child.pid,
    lines,
    log,
    output: () => output,
    line: (pattern) => lines.find(matches(pattern)),
    waitForLine: async (pattern, timeoutMs = 20_000) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const l = lines.find(matches(pattern));
        if (l) return l;
        if (!alive) {
          await drained;
          const late = lines.find(matches(pattern));
          if (late) return late;
          throw new Error(`aurproxy exited before logging ${pattern}:\n${log()}`);
        }
        if (performance.now() > deadline) {
          throw new Error(`aurproxy did not log ${pattern} in ${timeoutMs} ms:\n${log()}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    listening: async (port = o.mgmtPort, timeoutMs = 30_000) => {
      if (port === undefined) throw new Error("spawnAurproxy: no port to wait for");
      try {
        await Promise.race([
          waitForPort(port, timeoutMs),
          exited.then((s) => {
            throw new Error(`exited ${s.code} before listening`);
          }),
        ]);
      } catch (err) {
        throw new Error(`aurproxy did not start: ${(err as Error).message}\n${log()}`);
      }
    },
    healthDetails: async () => await (await mgmt("/health/details")).text(),
    metrics: async () => await (await mgmt("/metrics.json")).json(),
    exited,
    get alive() {
      return alive;
    },
    exit: () => exit,
    kill: (sig) => child.kill(sig),
    terminate: async (graceMs = 10_000) => {
      if (!alive) return await exited;
      signal("SIGTERM");
      return await endWithin(graceMs);
    },
    quit: async (graceMs = 20_000) => {
      if (!alive) return await exited;
      try {
        await (await mgmt("/quitquitquit", { method: "POST" })).body?.cancel();
      } catch {
        signal("SIGTERM");
      }
      return await endWithin(graceMs);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Spawns `aurproxy run --management-port=<mgmtPort> --management-host=127.0.0.1 <args>`
 * and resolves once its management port listens (after its sources started: up to their
 * start timeout when ZooKeeper is down); kills it and throws with its log if it does not.
 *
 * @example
 * ```ts ignore
 * const a = await startAurproxy(8081, ["--config=/tmp/config.json"]);
 * await a.healthDetails();
 * await a.quit();
 * ```
 */
export async function startAurproxy(
  mgmtPort: number,
  args: readonly string[],
  o: AurproxyCommandOptions & { readonly startTimeoutMs?: number } = {},
): Promise<AurproxyProcess> {
  const p = await spawnAurproxy(
    ["run", `--management-port=${mgmtPort}`, "--management-host=127.0.0.1", ...args],
    { ...o, mgmtPort },
  );
  try {
    await p.listening(mgmtPort, o.startTimeoutMs);
  } catch (e) {
    await p.stop();
    throw e;
  }
  return p;
}
