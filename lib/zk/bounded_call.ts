/**
 * Calls into the ZooKeeper library with two bounds it does not have: on how long one call
 * may take (the library would wait forever on a session that expired or a server that
 * went silent), and on how many are in flight at once (starting 50 watches of 40 members
 * each would otherwise put 2,000 reads and their buffers in flight together). A call also
 * fails at once, rather than at its bound, when its client is retired or the library
 * refuses its arguments.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { BAD_ARGUMENTS, type RawClient, type ZkError } from "./client.ts";
import { ZkOpError } from "./op_error.ts";

/** A library call: given the client, it answers through the node-style callback. */
export type ClientCall<T> = (c: RawClient, cb: (err: ZkError | null, v: T) => void) => void;

/** The bounds, and what a call needs to know of the session it runs on. */
export interface BoundedCallsOptions {
  readonly clock: Clock;
  /** Bound on one call's duration. */
  readonly timeoutMs: number;
  /** Calls sent at once. */
  readonly maxInFlight: number;
  /** The client a call starting now goes to; undefined when the session is closed. */
  readonly client: () => RawClient | undefined;
  /** Why a call timed out, as the session sees it then (e.g. "no answer from zk:2181 (disconnected)"). */
  readonly timeoutReason: () => string;
}

interface PendingCall {
  readonly client: RawClient;
  fail(err: ZkOpError): void;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import type { RawClient } from "./client.ts";
 * import { ZkOpError } from "./op_error.ts";
 *
 * async function list(current: RawClient) {
 *   const calls = new BoundedCalls({
 *     clock: systemClock,
 *     timeoutMs: 30_000,
 *     maxInFlight: 128,
 *     client: () => current,
 *     timeoutReason: () => "no answer",
 *   });
 *   const names = calls.run<string[]>("getChildren /sd", (c, cb) => c.getChildren("/sd", undefined, cb));
 *   calls.failAll(new ZkOpError("session expired", "expired"), current); // on expiry
 *   return await names; // rejects at once: expired
 * }
 * ```
 */
export class BoundedCalls {
  readonly #o: BoundedCallsOptions;
  readonly #pending = new Set<PendingCall>();
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];

  constructor(opts: BoundedCallsOptions) {
    this.#o = opts;
  }

  /** Runs one call once a slot is free, bounded by the timeout. */
  async run<T>(what: string, fn: ClientCall<T>): Promise<T> {
    const release = await this.#slot();
    try {
      return await this.#runNow(what, fn);
    } finally {
      release();
    }
  }

  /** Fails now the calls pending on `client` (every pending call when undefined). */
  failAll(err: ZkOpError, client?: RawClient): void {
    for (const p of [...this.#pending]) if (!client || p.client === client) p.fail(err);
  }

  async #slot(): Promise<() => void> {
    const max = this.#o.maxInFlight;
    while (this.#inFlight >= max) await new Promise<void>((r) => this.#slotWaiters.push(r));
    this.#inFlight++;
    return () => {
      this.#inFlight--;
      this.#slotWaiters.shift()?.();
    };
  }

  #runNow<T>(what: string, fn: ClientCall<T>): Promise<T> {
    // Looked up once the slot is free: the client may have been replaced meanwhile.
    const client = this.#o.client();
    if (!client) return Promise.reject(new ZkOpError(`${what}: session closed`, "closed"));
    const { clock } = this.#o;
    return new Promise<T>((resolve, reject) => {
      const call: PendingCall = {
        client,
        fail: (err) => {
          if (!this.#pending.delete(call)) return;
          clock.clearTimeout(timer);
          reject(new ZkOpError(`${what}: ${err.message}`, err.code));
        },
      };
      const timer = clock.setTimeout(() => {
        call.fail(new ZkOpError(this.#o.timeoutReason(), "timeout"));
      }, this.#o.timeoutMs);
      this.#pending.add(call);
      try {
        fn(client, (err, v) => {
          if (!this.#pending.delete(call)) return;
          clock.clearTimeout(timer);
          if (err) reject(new ZkOpError(`${what}: ${err.message ?? err}`, err.getCode?.() ?? -1));
          else resolve(v);
        });
      } catch (err) {
        // The library checks arguments (e.g. a path with "..") before sending and throws:
        // nothing will ever answer, so the call fails now rather than at its timeout.
        call.fail(new ZkOpError(err instanceof Error ? err.message : String(err), BAD_ARGUMENTS));
      }
    });
  }
}
