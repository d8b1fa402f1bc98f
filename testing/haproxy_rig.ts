/**
 * What the HAProxy backend's tests share: options for a backend writing into a temp dir
 * (the paths of `haproxy.ts`), and HAProxy started on the file the backend wrote: as
 * `haproxy.ts` runs it (with a master CLI), or without a master CLI, as an operator may.
 *
 * @module
 */

import { dirname } from "node:path";
import type { HaproxyOptions } from "../lib/backends/haproxy/options.ts";
import { RuntimeApi } from "../lib/backends/haproxy/runtime_api.ts";
import { workerPid } from "../lib/backends/haproxy/reload.ts";
import { signalGroup } from "../lib/process/group.ts";
import { haproxyPaths, runHaproxy as runTestHaproxy } from "./haproxy.ts";
import { waitFor, waitForPort } from "./ports.ts";

/** Options of a backend whose files are all in `dir` (where `haproxy.ts` expects them). */
export function haproxyOptions(dir: string): HaproxyOptions {
  const p = haproxyPaths(dir);
  return {
    configurationFile: p.configFile,
    binary: "haproxy",
    pidPath: `${dir}/haproxy.pid`,
    masterSocket: p.masterSocket,
    statsSocket: p.statsSocket,
    freeSlots: 4,
  };
}

/** A running HAProxy master. */
export interface RunningHaproxy {
  readonly pid: number;
  /** Its stderr so far. */
  stderr(): string;
  /** The master's pid and its current workers' (through the master CLI). */
  pids(): Promise<{ master: number; workers: readonly number[] }>;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy on `options.configurationFile`; resolves once every port listens.
 * `masterCli: false` starts it without a master CLI (`-S`).
 */
export function runHaproxy(
  options: HaproxyOptions,
  waitPorts: readonly number[],
  o: { readonly masterCli?: boolean } = {},
): Promise<RunningHaproxy> {
  if (o.masterCli !== false) {
    return runTestHaproxy({
      dir: dirname(options.configurationFile),
      configFile: options.configurationFile,
      masterSocket: options.masterSocket,
      statsSocket: options.statsSocket,
    }, waitPorts);
  }
  return runWithoutMasterCli(options, waitPorts);
}

async function runWithoutMasterCli(
  options: HaproxyOptions,
  waitPorts: readonly number[],
): Promise<RunningHaproxy> {
  const child = new Deno.Command("/usr/sbin/haproxy", {
    args: ["-W", "-db", "-f", options.configurationFile],
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
    if (!exited) {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* gone */ }
    }
    await status;
    signalGroup(child.pid, "SIGKILL");
    await drained;
  };
  const api = new RuntimeApi({ socketPath: options.statsSocket });
  try {
    await waitFor("haproxy's worker", async () => {
      if (exited) throw new Error("haproxy exited");
      return await workerPid(api).catch(() => undefined);
    });
    for (const p of waitPorts) await waitForPort(p);
  } catch (e) {
    await stop();
    throw new Error(`haproxy did not start: ${(e as Error).message}\n${err}`);
  }
  return {
    pid: child.pid,
    stderr: () => err,
    pids: () => Promise.reject(new Error("no master CLI")),
    stop,
  };
}
