/**
 * One `aurproxy` CLI process, on its own: for tests that restart aurproxy while nginx
 * keeps running (as when Thermos restarts the aurproxy process of a task, or an operator
 * restarts it by hand). `aurproxy_stack.ts` starts the whole task instead.
 *
 * @module
 */

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

/** A running `aurproxy run`. */
export interface AurproxyProcess {
  readonly pid: number;
  readonly mgmtPort: number;
  /** Everything it logged so far (stderr). */
  output(): string;
  /** `GET /health/details`: the level line and every reason. */
  healthDetails(): Promise<string>;
  /** `/metrics.json`. */
  metrics(): Promise<Record<string, number>>;
  /** Asks it to quit (/quitquitquit; SIGTERM if that fails) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Runs `aurproxy <args>` to completion (e.g. `run --setup`); resolves with its exit code. */
export async function runAurproxy(args: readonly string[]): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, ...args],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code;
}

/**
 * Spawns `aurproxy run --management-port=<mgmtPort> <args>` and resolves once its
 * management port answers (after its sources started: up to their start timeout when
 * ZooKeeper is down).
 *
 * @example
 * ```ts
 * const a = await startAurproxy(8081, ["--config=/tmp/config.json"]);
 * await a.healthDetails();
 * await a.stop();
 * ```
 */
export async function startAurproxy(
  mgmtPort: number,
  args: readonly string[],
  opts: { readonly startTimeoutMs?: number } = {},
): Promise<AurproxyProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      MAIN,
      "run",
      `--management-port=${mgmtPort}`,
      "--management-host=127.0.0.1",
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) log += dec.decode(chunk);
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        const res = await fetch(`http://127.0.0.1:${mgmtPort}/quitquitquit`, { method: "POST" });
        await res.body?.cancel();
      } catch {
        try {
          child.kill("SIGTERM");
        } catch {
          // Exited meanwhile.
        }
      }
    }
    await status;
    await drained;
  };
  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
    while (!(await portOpen(mgmtPort))) {
      if (exited) throw new Error(`aurproxy exited before serving:\n${log}`);
      if (Date.now() > deadline) throw new Error(`aurproxy did not serve in time:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    if (!exited) child.kill("SIGKILL");
    await status;
    await drained;
    throw e;
  }
  const url = (path: string) => `http://127.0.0.1:${mgmtPort}${path}`;
  return {
    pid: child.pid,
    mgmtPort,
    output: () => log,
    healthDetails: async () => await (await fetch(url("/health/details"))).text(),
    metrics: async () => await (await fetch(url("/metrics.json"))).json(),
    stop,
  };
}
