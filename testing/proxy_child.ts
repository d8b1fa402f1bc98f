/**
 * A proxy (nginx, HAProxy) a test starts as an operator would, in the foreground and
 * leading its own process group, with its stderr collected: what `nginx.ts`, `haproxy.ts`
 * and `haproxy_rig.ts` share. Ready once the test's own checks pass while it runs; a
 * child that does not get there is stopped and the error carries what it said.
 *
 * @module
 */

import { signalGroup, signalProcess } from "../lib/process/group.ts";
import { waitFor } from "./ports.ts";

/** A running proxy child. */
export interface ProxyChild {
  readonly pid: number;
  /** True once it exited. */
  exited(): boolean;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` to the child unless it exited already. */
  signal(signal: Deno.Signal): void;
  /** True when it exits within `ms`. */
  exitWithin(ms: number): Promise<boolean>;
  /**
   * Waits for its exit, then SIGKILLs its group (workers whose master was killed keep the
   * group, and the ports, alive) and reads the rest of its stderr.
   */
  reap(): Promise<void>;
}

/**
 * Spawns `binary args` detached (its own process group), stdout discarded, stderr kept.
 *
 * @example
 * ```ts ignore
 * const child = spawnProxyChild("/usr/sbin/haproxy", ["-W", "-db", "-f", "haproxy.cfg"]);
 * child.signal("SIGTERM");
 * await child.reap();
 * ```
 */
export function spawnProxyChild(binary: string, args: readonly string[]): ProxyChild {
  const child = new Deno.Command(binary, {
    args: [...args],
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
  return {
    pid: child.pid,
    exited: () => exited,
    stderr: () => err,
    signal: (signal) => {
      if (!exited) signalProcess(child.pid, signal);
    },
    exitWithin: async (ms) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<boolean>((r) => (timer = setTimeout(r, ms, false)));
      try {
        return await Promise.race([status.then(() => true), late]);
      } finally {
        clearTimeout(timer);
      }
    },
    reap: async () => {
      await status;
      signalGroup(child.pid, "SIGKILL");
      await drained;
    },
  };
}

/**
 * Waits for `what` (`probe` truthy) while `child` runs; fails at once when it exits
 * (`"<name> exited"`). For the readiness checks of a start.
 */
export function whileRunning<T>(
  child: ProxyChild,
  name: string,
  what: string,
  probe: () => Promise<T>,
): Promise<NonNullable<T>> {
  return waitFor(what, () => {
    if (child.exited()) throw new Error(`${name} exited`);
    return probe();
  });
}

/**
 * Runs the readiness checks `ready`; when they fail, `stop`s the child and throws
 * `"<name> did not start: <why>"` followed by its stderr.
 */
export async function startedOrStopped(
  child: ProxyChild,
  name: string,
  stop: () => Promise<void>,
  ready: () => Promise<void>,
): Promise<void> {
  try {
    await ready();
  } catch (e) {
    await stop();
    throw new Error(`${name} did not start: ${(e as Error).message}\n${child.stderr()}`);
  }
}
