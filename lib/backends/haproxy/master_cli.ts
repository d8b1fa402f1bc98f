/**
 * HAProxy's master CLI (`haproxy -W -S <socket>`): the processes it runs and reloads.
 * The master answers only once the request side of the connection is closed
 * (cli_socket's exchange does that).
 *
 * `reload` answers nothing in 2.6 and the master re-executes itself, so success is read
 * from `show proc` afterwards: the master's reload count went up and `[failed: N]` is 0.
 * A configuration that does not load leaves the previous workers serving.
 *
 * @module
 */

import { DEFAULT_TIMEOUT_MS, exchange } from "./cli_socket.ts";
import { parseShowProc, type ProcList } from "./proc_list.ts";
import { RuntimeApiError } from "./runtime_error.ts";

/** Where the master socket is and how long a call may take. */
export interface MasterCliOptions {
  readonly socketPath: string;
  /** Bound of each call. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Bound of a whole reload, until `show proc` shows its outcome. Default 10 s. */
  readonly reloadTimeoutMs?: number;
}

/**
 * The master CLI of one HAProxy.
 *
 * @example
 * ```ts ignore
 * const master = new MasterCli({ socketPath: "/run/haproxy-master.sock" });
 * const before = await master.showProc();
 * const after = await master.reload(); // throws when the new configuration did not load
 * after.workers[0].pid !== before.workers[0].pid; // true
 * ```
 */
export class MasterCli {
  readonly socketPath: string;
  readonly timeoutMs: number;
  readonly reloadTimeoutMs: number;

  constructor(opts: MasterCliOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.reloadTimeoutMs = opts.reloadTimeoutMs ?? 10_000;
  }

  /** Sends one command line to the master (`@1 <cmd>` goes to the first worker). */
  command(line: string): Promise<string> {
    return exchange(this.socketPath, `${line}\n`, line, this.timeoutMs);
  }

  /** `show proc`, parsed. */
  async showProc(): Promise<ProcList> {
    const reply = await this.command("show proc");
    try {
      return parseShowProc(reply);
    } catch {
      throw new RuntimeApiError("reply", this.socketPath, "show proc", reply.trim());
    }
  }

  /**
   * `reload`, then waits for its outcome: resolves with the processes after a reload
   * whose configuration loaded; throws {@linkcode RuntimeApiError} (`reply`) when it did
   * not (the previous workers keep serving), `timeout` when no outcome shows in time.
   */
  async reload(): Promise<ProcList> {
    const before = await this.showProc();
    const deadline = Date.now() + this.reloadTimeoutMs;
    await this.command("reload");
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const now = await this.showProc();
        if (now.master.reloads > before.master.reloads) {
          if (now.failedReloads > 0) {
            throw new RuntimeApiError(
              "reply",
              this.socketPath,
              "reload",
              "the new configuration did not load; the previous workers still serve",
            );
          }
          return now;
        }
      } catch (err) {
        if (err instanceof RuntimeApiError && err.kind === "reply") throw err;
        // The master re-executes itself: its socket is briefly gone.
        last = err;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new RuntimeApiError(
      "timeout",
      this.socketPath,
      "reload",
      `no outcome within ${this.reloadTimeoutMs} ms${last ? ` (${(last as Error).message})` : ""}`,
    );
  }
}
