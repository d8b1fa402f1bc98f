/**
 * The production health check: a minimal HTTP/1.1 client that opens a new connection for
 * every check, sends `Connection: close`, and reads only the status line and headers.
 *
 * A new connection per check, not a kept-alive one, because a check must see what nginx
 * sees when it opens a connection: a server whose listener is closed, whose accept loop
 * hung or whose backlog is full can keep answering on a connection it accepted earlier,
 * and a kept-alive check would report it healthy forever. The price is a TCP handshake
 * per check, about twice the CPU of a kept-alive check, half of it in the kernel: 2,000
 * endpoints on loopback take ~40-45 % of a core checked every second instead of ~20 %,
 * ~25 % every 3 s (bench/healthcheck.ts; on loopback aurproxy also pays the endpoints'
 * side of each handshake). The JavaScript side stays small: the request is pre-encoded and
 * only the status line is parsed. The server closes first (we read to the end of its
 * answer), so TIME_WAIT sockets land on its side, not aurproxy's.
 *
 * Every phase, the TCP connect included, is bounded by `timeoutMs` and ends at once when
 * the caller's signal aborts: a SYN nobody answers (full backlog, black-holed address)
 * would otherwise hold the check, and a scheduler slot, for the kernel's ~2 min.
 *
 * Same semantics as the fetch-based `httpCheck` (used by unit tests through an injected
 * fetch): 200 is success, a name that does not resolve is inconclusive, anything else fails.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { classifyFetchError } from "./check_error.ts";
import type { CheckResult } from "./health_state.ts";

export interface ProbeOptions {
  readonly url: string;
  readonly method: "GET" | "HEAD";
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Aborting it (the adjuster stopped) ends the check at once. */
  readonly signal: AbortSignal;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Headers larger than this are not a health-check answer. */
const MAX_HEAD = 16_384;
/** Body bytes read while waiting for the server to close; beyond that we close first. */
const MAX_DRAIN = 65_536;

/** Index of the blank line ending the headers, or -1; `from`: bytes already searched. */
function headEnd(b: Uint8Array, from: number): number {
  for (let i = Math.max(3, from); i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i - 3;
  }
  return -1;
}

/** A health-check client for one URL: one new connection per check. */
export class HttpProbe {
  readonly #hostname: string;
  readonly #port: number;
  readonly #request: Uint8Array;

  constructor(url: string, method: "GET" | "HEAD") {
    const u = new URL(url);
    this.#hostname = u.hostname.replace(/^\[|\]$/g, "");
    this.#port = Number(u.port || 80);
    this.#request = encoder.encode(
      `${method} ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
        "User-Agent: aurproxy-health-check\r\nConnection: close\r\n\r\n",
    );
  }

  /**
   * One check, bounded by `timeoutMs` from the start of the connect; never throws.
   *
   * @example
   * ```ts
   * const probe = new HttpProbe("http://10.0.0.1:8080/health", "GET");
   * await probe.check({ timeoutMs: 2000, clock, signal }); // { kind: "success" }
   * ```
   */
  async check(o: Omit<ProbeOptions, "url" | "method">): Promise<CheckResult> {
    if (o.signal.aborted) return { kind: "inconclusive", reason: "check cancelled" };
    // One controller ends whichever phase is pending: it cancels `Deno.connect`, and
    // closing the connection ends a pending read or write.
    const ac = new AbortController();
    let conn: Deno.TcpConn | undefined;
    let timedOut = false;
    let result: CheckResult | undefined;
    const end = () => {
      ac.abort();
      closeQuietly(conn);
    };
    const timer = o.clock.setTimeout(() => {
      timedOut = true;
      end();
    }, o.timeoutMs);
    // Cleared synchronously on stop, so a stopped adjuster leaves no timer behind.
    const onAbort = () => {
      o.clock.clearTimeout(timer);
      end();
    };
    o.signal.addEventListener("abort", onAbort);
    try {
      conn = await Deno.connect({ hostname: this.#hostname, port: this.#port, signal: ac.signal });
      if (ac.signal.aborted) throw new Error("cancelled");
      await conn.write(this.#request);
      let buf = new Uint8Array(2048);
      let len = 0;
      let head = -1;
      while (head < 0) {
        if (len === buf.length) {
          if (len >= MAX_HEAD) throw new Error("response headers too large");
          const bigger = new Uint8Array(len * 2);
          bigger.set(buf);
          buf = bigger;
        }
        const n = await conn.read(buf.subarray(len));
        if (n === null) throw new Error("connection closed before the response (unexpected eof)");
        head = headEnd(buf.subarray(0, len + n), len);
        len += n;
      }
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(decoder.decode(buf.subarray(0, 12)));
      if (!m) throw new Error("not an HTTP response");
      const status = Number(m[1]);
      result = status === 200
        ? { kind: "success" }
        : { kind: "failure", reason: `status ${status}` };
      // Wait for the server to close, as asked: the side closing first keeps TIME_WAIT.
      for (let drained = len - head - 4; drained <= MAX_DRAIN;) {
        const n = await conn.read(buf);
        if (n === null) break;
        drained += n;
      }
      return result;
    } catch (err) {
      // The answer was in before the timeout or stop cut the wait for the server's close.
      if (result) return result;
      if (timedOut) return { kind: "failure", reason: `timeout after ${o.timeoutMs} ms` };
      if (o.signal.aborted) return { kind: "inconclusive", reason: "check cancelled" };
      return classifyFetchError(err);
    } finally {
      o.clock.clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
      closeQuietly(conn);
    }
  }
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}

/**
 * A one-off check (see {@linkcode HttpProbe} for repeated checks of one URL).
 *
 * @example
 * ```ts
 * await probeHttp({ url: "http://10.0.0.1:8080/health", method: "GET", timeoutMs: 2000, clock, signal });
 * ```
 */
export function probeHttp(o: ProbeOptions): Promise<CheckResult> {
  return new HttpProbe(o.url, o.method).check(o);
}
