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
import { waitForPort } from "./ports.ts";
import { spawnProxyChild, startedOrStopped, whileRunning } from "./proxy_child.ts";

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
  const child = spawnProxyChild(resolveNginx(options.binary).path, args);
  const stop = async () => {
    child.signal("SIGTERM");
    await child.reap();
  };
  await startedOrStopped(child, "nginx", stop, async () => {
    await whileRunning(
      child,
      "nginx",
      "nginx pid file",
      () => Deno.readTextFile(options.pidPath).then((t) => t.trim()).catch(() => ""),
    );
    for (const p of waitPorts) await waitForPort(p);
  });
  return { pid: child.pid, stderr: child.stderr, stop };
}
