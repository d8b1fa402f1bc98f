/**
 * aurproxy run as an operator runs it, with exactly the permission flags of `deno task
 * run` (deno.json): `run --setup` writes the nginx config, nginx starts on it, then
 * `aurproxy run` manages it. Unlike `aurproxy_stack.ts` (which grants everything), a
 * permission the task lacks fails here as it would in production; and aurproxy can be
 * restarted beside the same nginx.
 *
 * @module
 */

import { runAurproxy } from "./aurproxy_command.ts";
import { type AurproxyProcess, startAurproxy } from "./aurproxy_process.ts";
import { nginxKeys } from "./aurproxy_stack.ts";
import { nginxOptions, runNginx, type RunningNginx } from "./nginx.ts";
import { freePort } from "./ports.ts";

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
  readonly aurproxy: AurproxyProcess;
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
  const common = [`--config=${configPath}`, ...(o.flags ?? [])];
  const setup = await runAurproxy([
    "run",
    "--setup",
    `--management-port=${mgmtPort}`,
    "--management-host=127.0.0.1",
    ...common,
  ]);
  if (setup.code !== 0) throw new Error(`aurproxy run --setup failed:\n${setup.stderr}`);
  const nginx = await runNginx(nginxOptions(o.dir), o.proxyPorts);
  let aurproxy: AurproxyProcess;
  try {
    aurproxy = await startAurproxy(mgmtPort, common);
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
      const { code } = await aurproxy.quit();
      aurproxy = await startAurproxy(mgmtPort, common);
      return code;
    },
    stop: async () => {
      try {
        return (await aurproxy.quit()).code;
      } finally {
        await nginx.stop();
      }
    },
  };
}
