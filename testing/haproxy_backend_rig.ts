/**
 * What the HAProxy backend's tests share: options for a backend writing into a temp dir,
 * and a real HAProxy (`haproxy -W -db -f FILE -S MASTER`) started on the file it wrote,
 * with its master and worker pids readable (to prove a change needed no reload).
 *
 * @module
 */

import type { HaproxyOptions } from "../lib/backends/haproxy/options.ts";
import { showProc, statsPid } from "../lib/backends/haproxy/master.ts";
import { resolveHaproxy } from "../lib/backends/haproxy/binary.ts";
import { signalGroup } from "../lib/process/group.ts";
import { waitFor, waitForPort } from "./ports.ts";

/** Options of a backend whose files are all in `dir`. */
export function haproxyOptions(dir: string): HaproxyOptions {
  return {
    configurationFile: `${dir}/haproxy.cfg`,
    binary: "haproxy",
    pidPath: `${dir}/haproxy.pid`,
    masterSocket: `${dir}/master.sock`,
    statsSocket: `${dir}/stats.sock`,
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
 * `masterCli: false` starts it without a master CLI (`-S`), as an operator may.
 */
export async function runHaproxy(
  options: HaproxyOptions,
  waitPorts: readonly number[],
  o: { readonly masterCli?: boolean } = {},
): Promise<RunningHaproxy> {
  const cli = o.masterCli === false ? [] : ["-S", options.masterSocket];
  const child = new Deno.Command(resolveHaproxy(options.binary), {
    args: ["-W", "-db", "-f", options.configurationFile, ...cli],
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
  try {
    await waitFor("haproxy's worker", async () => {
      if (exited) throw new Error("haproxy exited");
      if (!cli.length) return await statsPid(options.statsSocket).catch(() => undefined);
      const t = await showProc(options.masterSocket).catch(() => undefined);
      return t && t.workers.length > 0 ? t : undefined;
    });
    for (const p of waitPorts) await waitForPort(p);
  } catch (e) {
    await stop();
    throw new Error(`haproxy did not start: ${(e as Error).message}\n${err}`);
  }
  return {
    pid: child.pid,
    stderr: () => err,
    pids: async () => {
      const t = await showProc(options.masterSocket);
      return { master: t.master, workers: t.workers };
    },
    stop,
  };
}
