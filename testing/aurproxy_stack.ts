/**
 * aurproxy as an operator runs it, as separate processes: `run --setup` writes the nginx
 * config, nginx starts on it, then `aurproxy run` manages it. Used by the demo, the
 * benchmarks and tests that need a real process (CPU, RSS, signals).
 *
 * @module
 */

import { nginxOptions, runNginx, type RunningNginx } from "./nginx.ts";
import { freePort, waitForPort } from "./ports.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** The config keys that keep nginx's files inside `dir` (where `nginxOptions(dir)` has them). */
export function nginxKeys(dir: string) {
  const o = nginxOptions(dir);
  return {
    configuration_file: o.configurationFile,
    nginx_pid_path: o.pidPath,
    nginx_prefix: o.prefix ?? dir,
  };
}

export interface StackOptions {
  /** Working directory; the config is written to `<dir>/config.json`. */
  readonly dir: string;
  /** The aurproxy config; should include {@linkcode nginxKeys}(dir). */
  readonly config: Record<string, unknown>;
  /** Ports nginx listens on, waited for after it starts. */
  readonly proxyPorts: readonly number[];
  /** Extra `aurproxy run` flags. */
  readonly flags?: readonly string[];
  /** Extra flags for `aurproxy run --setup` (e.g. the same `--state-file`). */
  readonly setupFlags?: readonly string[];
  /** Show aurproxy's and nginx's output (the demo) instead of discarding it. */
  readonly verbose?: boolean;
  /** Deno flags for the aurproxy process (e.g. `--v8-flags=...`). */
  readonly denoFlags?: readonly string[];
  /**
   * How to start aurproxy (see `entry_points.ts`); default `deno run --allow-all
   * <denoFlags> main.ts` from the checkout.
   */
  readonly entryPoint?: { readonly argv: readonly string[]; readonly cwd?: string };
  /** Called with each line `aurproxy run` writes to stderr (its log), instead of dropping it. */
  readonly onLogLine?: (line: string) => void;
}

export interface Stack {
  readonly configPath: string;
  readonly mgmtPort: number;
  readonly pid: number;
  readonly nginx: RunningNginx;
  /** When `aurproxy run` was spawned (performance.now()). */
  readonly startedAt: number;
  /** How long `aurproxy run --setup` took, spawn to exit (ms). */
  readonly setupMs: number;
  /** aurproxy's /metrics.json. */
  metrics(): Promise<Record<string, number>>;
  /** What `aurproxy run` wrote to stderr so far (its log; empty when `verbose`). */
  log(): string;
  /** Asks aurproxy to quit (/quitquitquit), waits for it, then stops nginx. */
  stop(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const stack = await startStack({ dir, config: { backend: "nginx", ...nginxKeys(dir), servers }, proxyPorts: [8080] });
 * await stack.stop();
 * ```
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const configPath = `${o.dir}/config.json`;
  await Deno.writeTextFile(configPath, JSON.stringify(o.config, null, 2));
  const mgmtPort = freePort();
  const io = o.verbose ? "inherit" : "null";
  const err = o.verbose ? "inherit" : "piped";
  const [program, ...prefix] = o.entryPoint?.argv ??
    [Deno.execPath(), "run", "--allow-all", ...(o.denoFlags ?? []), MAIN];
  const aurproxy = (args: string[]) =>
    new Deno.Command(program, {
      args: [...prefix, ...args],
      cwd: o.entryPoint?.cwd,
      stdin: "null",
      stdout: io,
      stderr: err,
    });
  const common = [
    `--management-port=${mgmtPort}`,
    "--management-host=127.0.0.1",
    `--config=${configPath}`,
  ];
  const setupStart = performance.now();
  const setup = await aurproxy(["run", "--setup", ...common, ...(o.setupFlags ?? [])]).output();
  const setupMs = performance.now() - setupStart;
  if (!setup.success) {
    const why = o.verbose ? "" : `:\n${new TextDecoder().decode(setup.stderr)}`;
    throw new Error(`aurproxy run --setup failed (exit ${setup.code})${why}`);
  }
  const keys = nginxKeys(o.dir);
  const nginx = await runNginx({
    configurationFile: String(o.config.configuration_file ?? keys.configuration_file),
    pidPath: String(o.config.nginx_pid_path ?? keys.nginx_pid_path),
    binary: "nginx",
    prefix: String(o.config.nginx_prefix ?? o.dir),
  }, o.proxyPorts);
  const startedAt = performance.now();
  const proc = aurproxy(["run", ...common, ...(o.flags ?? [])]).spawn();
  let log = "";
  const drained = o.verbose ? Promise.resolve() : (async () => {
    let partial = "";
    for await (const text of proc.stderr.pipeThrough(new TextDecoderStream())) {
      log += text;
      if (!o.onLogLine) continue;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) o.onLogLine(line);
    }
  })().catch(() => {});
  try {
    await waitForPort(mgmtPort, 20_000);
  } catch (e) {
    proc.kill("SIGKILL");
    await proc.status;
    await drained;
    await nginx.stop();
    throw new Error(`${(e as Error).message}\naurproxy's log:\n${log}`);
  }
  const metricsJson = async () => {
    const res = await fetch(`http://127.0.0.1:${mgmtPort}/metrics.json`);
    return await res.json() as Record<string, number>;
  };
  return {
    configPath,
    mgmtPort,
    pid: proc.pid,
    nginx,
    startedAt,
    setupMs,
    metrics: metricsJson,
    log: () => log,
    stop: async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${mgmtPort}/quitquitquit`, { method: "POST" });
        await res.body?.cancel();
      } catch {
        proc.kill("SIGTERM");
      }
      await proc.status;
      await drained;
      await nginx.stop();
    },
  };
}

/** A free port for the proxy, re-exported for callers building configs. */
export { freePort };
