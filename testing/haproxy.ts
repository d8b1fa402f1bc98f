/**
 * A real HAProxy for tests: master-worker mode in the foreground (`haproxy -W -db`), a
 * master CLI (`-S`) and an admin stats socket that can pass listeners to a new worker
 * (`expose-fd listeners`), all in a temp dir; ready once the master lists a worker, the
 * stats socket answers and the given ports accept; stopped gracefully (SIGUSR1), then
 * SIGTERM, then SIGKILL to its process group, and the dir removed.
 *
 * @module
 */

import { MasterCli } from "../lib/backends/haproxy/master_cli.ts";
import type { ProcList } from "../lib/backends/haproxy/proc_list.ts";
import { RuntimeApi } from "../lib/backends/haproxy/runtime_api.ts";
import { signalGroup } from "../lib/process/group.ts";
import { waitForPort } from "./ports.ts";
import { spawnProxyChild, startedOrStopped, whileRunning } from "./proxy_child.ts";

/** Where a test HAProxy keeps its files. */
export interface HaproxyPaths {
  readonly dir: string;
  readonly configFile: string;
  readonly masterSocket: string;
  readonly statsSocket: string;
}

/** The paths of an HAProxy whose files are all in `dir`. */
export function haproxyPaths(dir: string): HaproxyPaths {
  return {
    dir,
    configFile: `${dir}/haproxy.cfg`,
    masterSocket: `${dir}/master.sock`,
    statsSocket: `${dir}/stats.sock`,
  };
}

/**
 * The `global` and `defaults` sections every test config starts with: the admin stats
 * socket at `statsSocket`, HTTP mode, short timeouts.
 *
 * @example
 * ```ts
 * haproxyGlobal("/tmp/x/stats.sock").includes("expose-fd listeners"); // true
 * ```
 */
export function haproxyGlobal(statsSocket: string): string {
  return [
    "global",
    `  stats socket ${statsSocket} mode 600 level admin expose-fd listeners`,
    "  stats timeout 1m",
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    "  timeout client 30s",
    "  timeout server 30s",
    "",
  ].join("\n");
}

/** A server line of {@linkcode simpleHttpConfig}. */
export interface SimpleServer {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly weight?: number;
  readonly disabled?: boolean;
}

/**
 * A whole config: {@linkcode haproxyGlobal}, then one HTTP frontend on 127.0.0.1:`port`
 * sending everything to backend `backend` (`balance`, default `roundrobin`) with `servers`
 * and `slots` free servers `slot1…` (address 0.0.0.0:0, `disabled`).
 *
 * @example
 * ```ts
 * const text = simpleHttpConfig("/tmp/x/stats.sock", {
 *   port: 8080,
 *   servers: [{ name: "a", address: "127.0.0.1", port: 9001 }],
 *   slots: 2,
 * });
 * text.includes("server-template slot 1-2 0.0.0.0:0 disabled"); // true
 * ```
 */
export function simpleHttpConfig(statsSocket: string, opts: {
  port: number;
  servers: readonly SimpleServer[];
  slots?: number;
  backend?: string;
  balance?: string;
}): string {
  const backend = opts.backend ?? "b";
  const lines = [
    haproxyGlobal(statsSocket),
    "frontend f",
    `  bind 127.0.0.1:${opts.port}`,
    `  default_backend ${backend}`,
    `backend ${backend}`,
    `  balance ${opts.balance ?? "roundrobin"}`,
    ...opts.servers.map((s) =>
      `  server ${s.name} ${s.address}:${s.port} weight ${s.weight ?? 1}${
        s.disabled ? " disabled" : ""
      }`
    ),
  ];
  if (opts.slots) lines.push(`  server-template slot 1-${opts.slots} 0.0.0.0:0 disabled`);
  return lines.join("\n") + "\n";
}

/** A running HAProxy master and the clients of its two sockets. */
export interface TestHaproxy {
  readonly paths: HaproxyPaths;
  /** The master's pid (the child we started). */
  readonly pid: number;
  /** The worker's stats socket. */
  readonly api: RuntimeApi;
  /** The master CLI. */
  readonly master: MasterCli;
  /** The master's pid and its current workers' (`show proc`). */
  pids(): Promise<{ master: number; workers: readonly number[] }>;
  /** `show proc`, parsed. */
  procs(): Promise<ProcList>;
  /** Everything HAProxy wrote to stderr so far. */
  stderr(): string;
  /** Stops HAProxy; {@linkcode startHaproxy}'s also removes its dir. */
  stop(): Promise<void>;
}

/**
 * Writes `config` (text, or made from the paths) into a new temp dir and runs HAProxy on
 * it until `stop()`, which also removes the dir.
 *
 * @example
 * ```ts ignore
 * const h = await startHaproxy((p) => simpleHttpConfig(p.statsSocket, { port, servers }), [port]);
 * try {
 *   await h.api.setWeight("b", "a", 5);
 * } finally {
 *   await h.stop();
 * }
 * ```
 */
export async function startHaproxy(
  config: string | ((paths: HaproxyPaths) => string),
  waitPorts: readonly number[] = [],
): Promise<TestHaproxy> {
  const paths = haproxyPaths(await Deno.makeTempDir({ prefix: "aurproxy-haproxy-" }));
  const removeDir = () => Deno.remove(paths.dir, { recursive: true }).catch(() => {});
  let running: TestHaproxy;
  try {
    await Deno.writeTextFile(
      paths.configFile,
      typeof config === "string" ? config : config(paths),
    );
    running = await runHaproxy(paths, waitPorts);
  } catch (e) {
    await removeDir();
    throw e;
  }
  return {
    ...running,
    stop: async () => {
      await running.stop();
      await removeDir();
    },
  };
}

/**
 * Runs HAProxy on `paths.configFile` (which must exist and declare the stats socket at
 * `paths.statsSocket`) as `haproxy -W -db -f FILE -S MASTER`: the child is the master, in
 * the foreground, leading its own process group. Resolves once the master lists a
 * worker, the stats socket answers and every port of `waitPorts` accepts connections.
 */
export async function runHaproxy(
  paths: HaproxyPaths,
  waitPorts: readonly number[] = [],
  binary = "/usr/sbin/haproxy",
): Promise<TestHaproxy> {
  const child = spawnProxyChild(binary, [
    "-W",
    "-db",
    "-f",
    paths.configFile,
    "-S",
    paths.masterSocket,
  ]);
  const stop = async () => {
    // Soft stop: the workers finish their requests, the master exits after them.
    child.signal("SIGUSR1");
    if (!(await child.exitWithin(3000)) && !child.exited()) {
      child.signal("SIGTERM");
      if (!(await child.exitWithin(2000))) signalGroup(child.pid, "SIGKILL");
    }
    await child.reap();
  };
  const api = new RuntimeApi({ socketPath: paths.statsSocket });
  const master = new MasterCli({ socketPath: paths.masterSocket });
  const procs = () => master.showProc();
  await startedOrStopped(child, "haproxy", stop, async () => {
    await whileRunning(
      child,
      "haproxy",
      "the HAProxy master listing a worker",
      async () => (await procs()).workers.length > 0,
    );
    await whileRunning(
      child,
      "haproxy",
      "the HAProxy stats socket",
      async () => (await api.showInfo()).has("Pid"),
    );
    for (const p of waitPorts) await waitForPort(p);
  });
  return {
    paths,
    pid: child.pid,
    api,
    master,
    procs,
    pids: async () => {
      const p = await procs();
      return { master: p.master.pid, workers: p.workers.map((w) => w.pid) };
    },
    stderr: child.stderr,
    stop,
  };
}
