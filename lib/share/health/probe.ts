/**
 * The production health check: a minimal HTTP/1.1 client that keeps one connection alive
 * per endpoint, reads only the status line and headers, and skips short bodies so the
 * connection can carry the next check.
 *
 * Why keep-alive, and why not forever. A new connection per check sees exactly what nginx
 * sees, but costs a TCP handshake and teardown per check: 2,000 endpoints checked every
 * second took ~42 % of a core (bench/healthcheck.ts), and the floor of Deno doing nothing
 * but 2,000 connect + write + read + close a second on loopback is ~35 %, above the 25 %
 * target. This probe takes 16 % (with the scheduler's 10 ms ticks), but a kept-alive
 * connection alone hides a server that stopped accepting new connections (listener
 * closed, accept loop hung, backlog full) while it still answers the connection it
 * accepted earlier. So the blind spot is bounded:
 * - a new connection is dialled at least every {@linkcode REDIAL_EVERY} checks (the last
 *   check on a connection asks the server to close it, so the server, not aurproxy, keeps
 *   the TIME_WAIT);
 * - after any failed check the connection is dropped, and every following check dials a
 *   new one until one succeeds.
 * A server that stops accepting passes at most `REDIAL_EVERY - 1` more checks on its old
 * connection, and is reported unhealthy within `REDIAL_EVERY - 1 + unhealthy_threshold`
 * checks.
 *
 * A kept connection can go stale: the server's idle timeout (5 s in Node, often at or below
 * a check interval) closes it just as a check is sent. A check on a reused connection that
 * fails before any byte of the answer arrives is retried once, at once, on a new connection,
 * so staleness never counts as a failure; a failure on a new connection is real.
 *
 * A connection is not reused after an answer that says `Connection: close`, is HTTP/1.0,
 * has a chunked body or one of unknown length or longer than {@linkcode MAX_SKIPPED_BODY},
 * or is not a 200. Such a connection is closed at the start of the next check rather than
 * at once, so a server that closes it first has done so by then and TIME_WAIT stays on its
 * side.
 *
 * Every phase, the TCP connect included, is bounded by `timeoutMs` and ends at once when
 * the caller's signal aborts: a SYN nobody answers (full backlog, black-holed address)
 * would otherwise hold the check, and a scheduler slot, for the kernel's ~2 min. An answer
 * that arrived in time stands even if skipping its body runs into the timeout.
 *
 * Same semantics as the fetch-based `httpCheck` (used by unit tests through an injected
 * fetch): 200 is success, a name that does not resolve is inconclusive, anything else fails.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import { classifyFetchError } from "./check_error.ts";
import type { CheckResult } from "./state.ts";

export interface ProbeOptions {
  readonly url: string;
  readonly method: "GET" | "HEAD";
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Aborting it (the adjuster stopped) ends the check at once. */
  readonly signal: AbortSignal;
}

/** How the probe treats its connections. */
export interface HttpProbeOptions {
  /** A new connection at least every this many checks; default {@linkcode REDIAL_EVERY}. */
  readonly redialEvery?: number;
}

/**
 * A kept-alive connection carries at most this many checks; then a new one is dialled.
 * Bounds how long a server that stopped accepting can pass on its old connection (9
 * checks) against the cost of a handshake, which one check in 10 pays (2,000 endpoints a
 * second: 200 new connections a second, 16 % of a core in all, against ~42 % with a
 * connection per check).
 */
export const REDIAL_EVERY = 10;

/** Bodies up to this size are read and dropped to keep the connection; longer ones end it. */
export const MAX_SKIPPED_BODY = 65_536;

/** Headers larger than this are not a health-check answer. */
const MAX_HEAD = 16_384;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CANCELLED: CheckResult = { kind: "inconclusive", reason: "check cancelled" };
const SUCCESS: CheckResult = { kind: "success" };

/** Index of the blank line ending the headers, or -1; `from`: bytes already searched. */
function headEnd(b: Uint8Array, len: number, from: number): number {
  for (let i = Math.max(3, from); i < len; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i - 3;
  }
  return -1;
}

/** A reused connection failed before any byte of the answer: the server had closed it. */
class StaleConnection extends Error {}

/** The state of one check, shared with its timeout and abort handlers. */
interface Turn {
  /** Set by the timeout or the caller's abort: every pending step must end. */
  over?: "timeout" | "cancelled";
  /** The connect in progress, if any. */
  dialing?: AbortController;
}

/** A health-check client for one URL; keeps its connection between checks (see above). */
export class HttpProbe {
  readonly #hostname: string;
  readonly #port: number;
  /** The request of a check that may leave the connection open. */
  readonly #request: Uint8Array;
  /** The request of the last check on a connection: asks the server to close it. */
  readonly #lastRequest: Uint8Array;
  readonly #head: boolean;
  readonly #redialEvery: number;
  #conn?: Deno.TcpConn;
  /** Checks made on `#conn`. */
  #uses = 0;
  /** `#conn` must not carry another check; it is closed at the next one. */
  #spent = false;
  #buf = new Uint8Array(1024);

  constructor(url: string, method: "GET" | "HEAD", opts: HttpProbeOptions = {}) {
    const redialEvery = opts.redialEvery ?? REDIAL_EVERY;
    if (!Number.isInteger(redialEvery) || redialEvery < 1) {
      throw new RangeError(`redialEvery: expected an integer >= 1, got ${redialEvery}`);
    }
    const u = new URL(url);
    this.#hostname = u.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(u.port || 80);
    this.#head = method === "HEAD";
    this.#redialEvery = redialEvery;
    const start = `${method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      "User-Agent: aurproxy-health-check\r\n";
    this.#request = encoder.encode(`${start}\r\n`);
    this.#lastRequest = encoder.encode(`${start}Connection: close\r\n\r\n`);
  }

  /** Closes the kept connection, if any; the next check dials a new one. Idempotent. */
  close(): void {
    const conn = this.#conn;
    this.#conn = undefined;
    try {
      conn?.close();
    } catch {
      // Already closed.
    }
  }

  /**
   * One check, bounded by `timeoutMs` from its start (connect included); never throws.
   * Call {@linkcode HttpProbe.close} when done with the probe.
   *
   * @example
   * ```ts
   * import { systemClock } from "../../clock.ts";
   *
   * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
   * const url = `http://127.0.0.1:${server.addr.port}/health`;
   * const probe = new HttpProbe(url, "GET");
   * const signal = new AbortController().signal;
   * console.log(await probe.check({ timeoutMs: 2000, clock: systemClock, signal })); // success
   * probe.close();
   * await server.shutdown();
   * ```
   */
  async check(o: Omit<ProbeOptions, "url" | "method">): Promise<CheckResult> {
    if (o.signal.aborted) return CANCELLED;
    const turn: Turn = {};
    const end = (why: "timeout" | "cancelled") => {
      turn.over ??= why;
      turn.dialing?.abort();
      // Closing the connection ends a pending read or write.
      this.close();
    };
    let timer: TimerId | undefined = o.clock.setTimeout(() => {
      timer = undefined;
      end("timeout");
    }, o.timeoutMs);
    // Cleared synchronously on stop, so a stopped adjuster leaves no timer behind.
    const onAbort = () => {
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
      end("cancelled");
    };
    o.signal.addEventListener("abort", onAbort);
    try {
      const reuse = this.#conn !== undefined && !this.#spent && this.#uses < this.#redialEvery;
      try {
        return await this.#exchange(reuse ? this.#conn! : await this.#dial(turn), reuse, turn);
      } catch (err) {
        if (!(err instanceof StaleConnection) || turn.over) throw err;
        return await this.#exchange(await this.#dial(turn), false, turn);
      }
    } catch (err) {
      this.close();
      if (turn.over === "timeout") {
        return { kind: "failure", reason: `timeout after ${o.timeoutMs} ms` };
      }
      if (turn.over === "cancelled") return CANCELLED;
      return classifyFetchError(err);
    } finally {
      if (timer !== undefined) o.clock.clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
    }
  }

  /** Replaces the kept connection by a new one; the connect ends with the turn. */
  async #dial(turn: Turn): Promise<Deno.TcpConn> {
    this.close();
    const ac = new AbortController();
    turn.dialing = ac;
    const conn = await Deno.connect({
      hostname: this.#hostname,
      port: this.#port,
      signal: ac.signal,
    });
    turn.dialing = undefined;
    if (turn.over) {
      conn.close();
      throw new Error("cancelled");
    }
    this.#conn = conn;
    this.#uses = 0;
    this.#spent = false;
    return conn;
  }

  /** Sends the request on `conn` and reads the answer; throws StaleConnection if due. */
  async #exchange(conn: Deno.TcpConn, reused: boolean, turn: Turn): Promise<CheckResult> {
    this.#uses++;
    const last = this.#uses >= this.#redialEvery;
    let buf = this.#buf;
    let len = 0;
    let end = -1;
    try {
      const req = last ? this.#lastRequest : this.#request;
      for (let sent = 0; sent < req.length;) sent += await conn.write(req.subarray(sent));
      while (end < 0) {
        if (len === buf.length) {
          if (len >= MAX_HEAD) throw new Error("response headers too large");
          const bigger = new Uint8Array(len * 2);
          bigger.set(buf);
          this.#buf = buf = bigger;
        }
        const n = await conn.read(buf.subarray(len));
        if (n === null) throw new Error("connection closed before the response (unexpected eof)");
        end = headEnd(buf, len + n, len);
        len += n;
      }
    } catch (err) {
      // Nothing came back on a reused connection: the server had closed it while idle.
      if (reused && len === 0 && !turn.over) throw new StaleConnection("stale", { cause: err });
      throw err;
    }
    const head = decoder.decode(buf.subarray(0, end));
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(head);
    if (!m) throw new Error("not an HTTP response");
    const status = Number(m[2]);
    const result: CheckResult = status === 200
      ? SUCCESS
      : { kind: "failure", reason: `status ${status}` };
    // Only a connection that just answered 200 carries the next check (see the module doc).
    this.#spent = true;
    if (status !== 200 || last || m[1] === "0") return result;
    const headers = head.toLowerCase();
    if (/\r\nconnection:[^\r]*close/.test(headers)) return result;
    let left = 0;
    if (!this.#head) {
      if (/\r\ntransfer-encoding:/.test(headers)) return result;
      const length = /\r\ncontent-length:[ \t]*(\d+)[ \t]*\r/.exec(headers + "\r");
      if (!length) return result;
      left = Number(length[1]);
      if (left > MAX_SKIPPED_BODY) return result;
    }
    left -= len - end - 4;
    try {
      while (left > 0) {
        const n = await conn.read(buf);
        if (n === null) return result;
        left -= n;
      }
    } catch {
      // The answer was in before the timeout or the stop cut the body short.
      return result;
    }
    // More than the answer (a body on a HEAD answer, a stray byte): out of step, not reused.
    if (left === 0) this.#spent = false;
    return result;
  }
}

/**
 * A one-off check on its own connection (see {@linkcode HttpProbe} for repeated checks).
 *
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * const url = `http://127.0.0.1:${server.addr.port}/health`;
 * const signal = new AbortController().signal;
 * console.log(await probeHttp({ url, method: "GET", timeoutMs: 2000, clock: systemClock, signal }));
 * await server.shutdown();
 * ```
 */
export async function probeHttp(o: ProbeOptions): Promise<CheckResult> {
  const p = new HttpProbe(o.url, o.method);
  try {
    return await p.check(o);
  } finally {
    p.close();
  }
}
