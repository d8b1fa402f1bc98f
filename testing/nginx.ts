/**
 * A real nginx for tests: private prefix in a temp dir, config rendered by aurproxy's own
 * backend, stopped (and the dir removed) by `stop()`.
 *
 * @module
 */

import { NginxBackend } from "../lib/backends/nginx/backend.ts";
import { resolveNginx } from "../lib/backends/nginx/binary.ts";
import type { NginxOptions } from "../lib/backends/nginx/options.ts";
import { memoryLogger } from "../lib/log.ts";
import { MetricsRegistry } from "../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../lib/model/snapshot.ts";
import { signalGroup, signalProcess } from "../lib/process/group.ts";
import { waitFor, waitForPort } from "./ports.ts";

export interface TestNginx {
  readonly dir: string;
  readonly options: NginxOptions;
  /** The backend aurproxy would use for this nginx. */
  readonly backend: NginxBackend;
  readonly metrics: MetricsRegistry;
  /** The master's pid. */
  readonly pid: number;
  /** Everything nginx wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Options for a private nginx in `dir` (created if not given). */
export function nginxOptions(dir: string): NginxOptions {
  return {
    configurationFile: `${dir}/conf/nginx.conf`,
    pidPath: `${dir}/nginx.pid`,
    binary: "nginx",
    prefix: dir,
  };
}

/**
 * Writes the config for `snapshot` (validated with nginx -t), starts nginx on it in the
 * foreground and waits until every port of `waitPorts` accepts connections.
 */
export async function startNginx(
  snapshot: ProxySnapshot,
  waitPorts: readonly number[],
  opts: Partial<NginxOptions> = {},
): Promise<TestNginx> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-nginx-" });
  const options = { ...nginxOptions(dir), ...opts };
  const metrics = new MetricsRegistry("aurproxy");
  const backend = new NginxBackend(options, { logger: memoryLogger(), metrics });
  const setup = await backend.apply(snapshot, { reload: false });
  if (setup.kind !== "applied") {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`initial nginx config not applied: ${JSON.stringify(setup)}`);
  }
  let proc: RunningNginx;
  try {
    proc = await runNginx(options, waitPorts);
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const stop = async () => {
    await proc.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return {
    dir,
    options,
    backend,
    metrics,
    pid: proc.pid,
    stderr: proc.stderr,
    stop,
  };
}

/** An nginx process started on an existing config. */
export interface RunningNginx {
  readonly pid: number;
  stderr(): string;
  /**
   * Stops nginx (SIGTERM) and waits for it, then kills whatever is left of its process
   * group (workers orphaned by a master a test killed with -9); leaves its directory alone.
   */
  stop(): Promise<void>;
}

/**
 * Starts nginx on `options.configurationFile` (which must exist) exactly as an operator
 * does, `nginx -c FILE`: the config aurproxy renders says `daemon off;`, so this child is
 * the master and stays in the foreground. It leads its own process group, so `stop()`
 * also reaps workers that outlived their master. Waits for its pid file and `waitPorts`.
 */
export async function runNginx(
  options: NginxOptions,
  waitPorts: readonly number[],
): Promise<RunningNginx> {
  const args = ["-c", options.configurationFile];
  if (options.prefix) args.unshift("-p", options.prefix);
  const child = new Deno.Command(resolveNginx(options.binary).path, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    detached: true,
  }).spawn();
  let err = "";
  const drained = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) err += dec.decode(chunk);
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) signalProcess(child.pid, "SIGTERM");
    await status;
    // Workers whose master was killed keep the group (and the ports) alive.
    signalGroup(child.pid, "SIGKILL");
    await drained;
  };
  try {
    await waitFor("nginx pid file", () => {
      if (exited) throw new Error("nginx exited");
      return Deno.readTextFile(options.pidPath).then((t) => t.trim()).catch(() => "");
    });
    for (const p of waitPorts) await waitForPort(p);
  } catch (e) {
    await stop();
    throw new Error(`nginx did not start: ${(e as Error).message}\n${err}`);
  }
  return { pid: child.pid, stderr: () => err, stop };
}
