/**
 * `main.ts` as an operator runs it, with the permission flags of `deno task run` (read from
 * deno.json, so they cannot drift; see {@linkcode managerFlags} for the one addition a
 * manager beside nginx needs today) and only the environment the test gives (no AWS
 * settings of the machine running the tests leak in). stderr is kept line by line with
 * the time each line arrived, so a test can order what aurproxy logged against what it
 * saw itself; the exit is timed the same way.
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** The permission flags of `deno task run`. */
export function taskRunFlags(): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.run;
  const words = task.split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}

/**
 * The flags `run` beside a real nginx needs: `deno task run`'s, or `--allow-all` while
 * they lack it. Deno 2 refuses every read under `/proc` without `--allow-all` (a
 * `--allow-read` of any scope is not enough), and the nginx backend reads
 * `/proc/<pid>/stat` to find nginx and confirm a reload: under the task's flags alone
 * every apply ends "nginx is not running" and nothing that waits for a serving proxy
 * (self registration) ever happens. The bundle is deployed with `-A` (README), so that is
 * what these tests run; once the task grants it, they run with exactly its flags.
 */
export function managerFlags(): string[] {
  const flags = taskRunFlags();
  // Deno refuses --allow-all beside the narrower flags it implies.
  return flags.includes("--allow-all") || flags.includes("-A") ? flags : ["--allow-all"];
}

function command(
  args: readonly string[],
  env: Record<string, string>,
  stdout: "piped" | "null",
  flags: readonly string[],
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}main.ts`, ...args],
    cwd: ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      ...env,
    },
    stdin: "null",
    stdout,
    stderr: "piped",
  });
}

/** A command that ran to its end. */
export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `aurproxy <args>` to its end (`run --setup`, usage errors). */
export async function runAurproxy(
  args: readonly string[],
  env: Record<string, string> = {},
  flags: readonly string[] = taskRunFlags(),
): Promise<Finished> {
  const out = await command(args, env, "piped", flags).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** One line aurproxy wrote to stderr. */
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

/** A running `aurproxy` process. */
export interface AurproxyProcess extends AsyncDisposable {
  readonly pid: number;
  readonly lines: readonly LogLine[];
  /** Everything written to stderr so far. */
  log(): string;
  /** Resolves with the first line matching `pattern`. */
  waitForLine(pattern: RegExp | string, timeoutMs?: number): Promise<LogLine>;
  /** The first line matching `pattern`, or undefined. */
  line(pattern: RegExp | string): LogLine | undefined;
  /** Resolves once the process has ended and its stderr is read. */
  readonly exited: Promise<Exit>;
  /** True until the process has ended. */
  readonly alive: boolean;
  kill(signal: Deno.Signal): void;
  /** Kills it (SIGKILL) if still running and waits for it. */
  stop(): Promise<void>;
}

const matches = (pattern: RegExp | string) => (l: LogLine) =>
  typeof pattern === "string" ? l.text.includes(pattern) : pattern.test(l.text);

/**
 * Spawns `aurproxy <args>` (usually `run ...`).
 *
 * @example
 * ```ts
 * await using p = spawnAurproxy(["run", "--management-port=31325", `--config=${path}`]);
 * await p.waitForLine("management port listening");
 * ```
 */
export function spawnAurproxy(
  args: readonly string[],
  env: Record<string, string> = {},
  flags: readonly string[] = managerFlags(),
): AurproxyProcess {
  const child = command(args, env, "null", flags).spawn();
  const lines: LogLine[] = [];
  let alive = true;
  const drained = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const at = performance.now();
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const text of parts) lines.push({ at, text });
    }
    if (rest) lines.push({ at: performance.now(), text: rest });
  })();
  const exited = child.status.then(async (s) => {
    const at = performance.now();
    alive = false;
    await drained;
    return { code: s.code, signal: s.signal, at };
  });
  const stop = async () => {
    if (alive) {
      try {
        child.kill("SIGKILL");
      } catch {
        // Ended meanwhile.
      }
    }
    await exited;
  };
  const log = () => lines.map((l) => l.text).join("\n");
  return {
    pid: child.pid,
    lines,
    log,
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
    exited,
    get alive() {
      return alive;
    },
    kill: (signal) => child.kill(signal),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
