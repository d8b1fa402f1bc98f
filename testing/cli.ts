/**
 * The `aurproxy` command line as a subprocess (`deno run -A main.ts`), for tests of what
 * an operator sees: exit codes, stdout and stderr; and `run --setup` followed by a real
 * nginx on the config it wrote.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { nginxKeys } from "./aurproxy_stack.ts";
import { runNginx } from "./nginx.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** What a finished command printed and returned. */
export interface CliOutput {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `aurproxy <args>` to the end.
 *
 * @example
 * ```ts
 * const r = await runCli("validate", "--config=/etc/aurproxy/config.json");
 * r.code; // 0 valid, 2 a config error
 * ```
 */
export async function runCli(...args: string[]): Promise<CliOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: "/tmp",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A running `aurproxy run` (or other long-lived command). */
export interface CliProcess {
  readonly child: Deno.ChildProcess;
  /** Everything it wrote to stderr (its log) so far. */
  log(): string;
  /** Its exit status, once it exited. */
  exit(): Deno.CommandStatus | undefined;
  /** Kills it (SIGKILL) if still running and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts `aurproxy <args>`, collecting its log.
 *
 * @example
 * ```ts
 * const p = spawnCli("run", "--management-port=8081", "--config=/etc/aurproxy/config.json");
 * p.child.kill("SIGHUP");
 * await p.stop();
 * ```
 */
export function spawnCli(...args: string[]): CliProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: "/tmp",
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let log = "";
  const drained = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) log += c;
  })();
  let exit: Deno.CommandStatus | undefined;
  child.status.then((s) => (exit = s));
  return {
    child,
    log: () => log,
    exit: () => exit,
    stop: async () => {
      try {
        child.kill("SIGKILL");
      } catch {
        // Exited.
      }
      await child.status;
      await drained;
    },
  };
}

/**
 * `run --setup` writes `config` (its nginx files put in a temp dir), a real nginx runs
 * it, `fn` sends requests; then nginx stops and the dir is removed. Returns what
 * `--setup` printed.
 *
 * @example
 * ```ts
 * const source = { source_class: "static", name: "a", host: "127.0.0.1", port: 9000 };
 * const config = { servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }] };
 * await serveWithSetup(config, 8080, async () => {
 *   // requests to 127.0.0.1:8080
 * });
 * ```
 */
export async function serveWithSetup(
  config: Record<string, unknown>,
  proxyPort: number,
  fn: (dir: string) => Promise<void>,
  setupFlags: readonly string[] = [],
): Promise<CliOutput> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-cli-" });
  try {
    const keys = nginxKeys(dir);
    const setup = await runCli(
      "run",
      "--setup",
      "--management-port=1",
      ...setupFlags,
      `--config=${JSON.stringify({ ...config, ...keys })}`,
    );
    strictEqual(setup.code, 0, setup.stderr);
    const nginx = await runNginx({
      configurationFile: keys.configuration_file,
      pidPath: keys.nginx_pid_path,
      binary: "nginx",
      prefix: dir,
    }, [proxyPort]);
    try {
      await fn(dir);
    } finally {
      await nginx.stop();
    }
    return setup;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
