/**
 * Signalling a child and everything it started. Supervised children are spawned as the
 * leader of their own process group (`detached`, which is setsid on Unix), so a child that
 * forked helpers (nginx's workers, a shell's background job) can be cleaned up as a whole:
 * killing only the leader would leave the helpers running, holding ports and pipes.
 *
 * @module
 */

/**
 * Sends `signal` to every process in the group led by `pgid`. Returns false when the group
 * no longer exists (everyone has exited); other failures throw.
 *
 * @example
 * ```ts
 * import { signalGroup } from "./group.ts";
 * const child = new Deno.Command("sleep", { args: ["60"], detached: true }).spawn();
 * signalGroup(child.pid, "SIGKILL"); // true
 * await child.status;
 * ```
 */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  return kill(-pgid, signal);
}

/**
 * Sends `signal` to the process `pid` only. Returns false when it has already exited.
 *
 * @example
 * ```ts
 * import { signalProcess } from "./group.ts";
 * signalProcess(2 ** 22 + 1, "SIGTERM"); // false: above Linux's pid_max, no such process
 * ```
 */
export function signalProcess(pid: number, signal: Deno.Signal): boolean {
  return kill(pid, signal);
}

function kill(target: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(target, signal);
    return true;
  } catch (err) {
    // ESRCH: nothing left to signal.
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
