/**
 * aurproxy run as an operator runs it, with exactly the permission flags of `deno task
 * run` (deno.json): `run --setup` writes the nginx config, nginx starts on it, then
 * `aurproxy run` manages it. Unlike `aurproxy_stack.ts` (which grants everything), a
 * permission the task lacks fails here as it would in production; and aurproxy can be
 * restarted beside the same nginx.
 *
 * @module
 */

import { taskRunFlags } from "./entry_points.ts";
import { nginxKeys } from "./aurproxy_stack.ts";
import { runNginx, type RunningNginx } from "./nginx.ts";
import { freePort, waitForPort } from "./ports.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** `deno` arguments running main.ts with `args`, as `deno task run` would. */
export async function taskRunArgs(args: readonly string[]): Promise<string[]> {
  return ["run", ...(await taskRunFlags()), `${ROOT}main.ts`, ...args];
}

/** Runs main.ts to completion with the task's permissions. */
export async function runCli(args: readonly string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: await taskRunArgs(args),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `aurproxy run`. */
export interface CliProcess {
  readonly pid: number;
  readonly mgmtPort: number;
  /** Everything it logged so far. */
  log(): string;
  /** POST /quitquitquit (SIGTERM if that fails); resolves with the exit code. */
  quit(): Promise<number>;
  /** SIGKILL, for cleanup. */
  kill(): Promise<void>;
}

/** Starts `aurproxy run` with `args` and waits for its management port. */
export async function spawnRun(args: readonly string[], mgmtPort: number): Promise<CliProcess> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: await taskRunArgs(["run", ...args]),
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const drained = (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) log += chunk;
  })().catch(() => {});
  const signal = (sig: Deno.Signal) => {
    try {
      proc.kill(sig);
    } catch {
      // Exited already.
    }
  };
  const kill = async () => {
    signal("SIGKILL");
    await proc.status;
    await drained;
  };
  try {
    await waitForPort(mgmtPort, 30_000);
  } catch (e) {
    await kill();
    throw new Error(`${(e as Error).message}\n${log}`);
  }
  return {
    pid: proc.pid,
    mgmtPort,
    log: () => log,
    quit: async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${mgmtPort}/quitquitquit`, { method: "POST" });
        await res.body?.cancel();
      } catch {
        signal("SIGTERM");
      }
      const timer = setTimeout(() => signal("SIGKILL"), 20_000);
      const status = await proc.status;
      clearTimeout(timer);
      await drained;
      return status.code;
    },
    kill,
  };
}

export interface CliStackOptions {
  /** Working directory; the config goes to `<dir>/config.json`. */
  readonly dir: string;
  /** The config, without the nginx keys ({@linkcode nginxKeys} of `dir` are added). */
  readonly config: Record<string, unknown>;
  readonly proxyPorts: readonly number[];
  /** Flags of both `run --setup` and `run` (e.g. `--state-file`). */
  readonly flags?: readonly string[];
}

/** nginx and a restartable aurproxy beside it. */
export interface CliStack {
  readonly nginx: RunningNginx;
  readonly mgmtPort: number;
  /** The running aurproxy (replaced by {@linkcode CliStack.restart}). */
  readonly aurproxy: CliProcess;
  /** Quits aurproxy (nginx keeps serving) and starts it again with the same flags. */
  restart(): Promise<number>;
  /** Quits aurproxy, then stops nginx; resolves with aurproxy's exit code. */
  stop(): Promise<number>;
}

/**
 * @example
 * ```ts ignore
 * const stack = await startCliStack({ dir, config: { backend: "nginx", servers }, proxyPorts: [port] });
 * await stack.stop();
 * ```
 */
export async function startCliStack(o: CliStackOptions): Promise<CliStack> {
  const configPath = `${o.dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({ ...o.config, ...nginxKeys(o.dir) }, null, 2),
  );
  const mgmtPort = freePort();
  const common = [
    `--management-port=${mgmtPort}`,
    "--management-host=127.0.0.1",
    `--config=${configPath}`,
    ...(o.flags ?? []),
  ];
  const setup = await runCli(["run", "--setup", ...common]);
  if (setup.code !== 0) throw new Error(`aurproxy run --setup failed:\n${setup.stderr}`);
  const keys = nginxKeys(o.dir);
  const nginx = await runNginx({
    configurationFile: keys.configuration_file,
    pidPath: keys.nginx_pid_path,
    binary: "nginx",
    prefix: o.dir,
  }, o.proxyPorts);
  let aurproxy: CliProcess;
  try {
    aurproxy = await spawnRun(common, mgmtPort);
  } catch (e) {
    await nginx.stop();
    throw e;
  }
  return {
    nginx,
    mgmtPort,
    get aurproxy() {
      return aurproxy;
    },
    restart: async () => {
      const code = await aurproxy.quit();
      aurproxy = await spawnRun(common, mgmtPort);
      return code;
    },
    stop: async () => {
      try {
        return await aurproxy.quit();
      } finally {
        await nginx.stop();
      }
    },
  };
}
