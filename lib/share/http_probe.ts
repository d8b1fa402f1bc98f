/**
 * The production health check: a minimal HTTP/1.1 client that reads only the status line
 * and headers, on one kept-alive connection per endpoint. `fetch` builds a full request
 * and response (header maps, body streams, pool bookkeeping) for every check; at 2,000
 * endpoints a second that alone costs more CPU than the checks themselves, and a new TCP
 * connection per check doubles the system calls again.
 *
 * A kept-alive connection can go stale (the server's idle timeout closes it just as a
 * check is sent): a reused connection that fails before any status line is retried once
 * at once on a fresh connection, so staleness never counts as a failure. A fresh
 * connection that fails is a real failure. Responses whose body length is unknown end the
 * connection, as do `Connection: close` answers.
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

/** Index of the blank line ending the headers, or -1. */
function headEnd(b: Uint8Array): number {
  for (let i = 3; i < b.length; i++) {
    if (b[i] === 10 && b[i - 1] === 13 && b[i - 2] === 10 && b[i - 3] === 13) return i - 3;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

class StaleConnection extends Error {}

/** A health-check client for one URL; keeps its connection between checks. */
export class HttpProbe {
  readonly #url: URL;
  readonly #hostname: string;
  readonly #request: Uint8Array;
  #conn?: Deno.TcpConn;
  readonly #buf = new Uint8Array(4096);

  constructor(url: string, method: "GET" | "HEAD") {
    this.#url = new URL(url);
    this.#hostname = this.#url.hostname.replace(/^\[|\]$/g, "");
    this.#request = encoder.encode(
      `${method} ${this.#url.pathname}${this.#url.search} HTTP/1.1\r\nHost: ${this.#url.host}\r\n` +
        "User-Agent: aurproxy-health-check\r\n\r\n",
    );
    this.method = method;
  }

  readonly method: "GET" | "HEAD";

  /** Closes the kept-alive connection, if any. */
  close(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
    this.#conn = undefined;
  }

  /**
   * One check, bounded by `timeoutMs`; never throws.
   *
   * @example
   * ```ts
   * const probe = new HttpProbe("http://10.0.0.1:8080/health", "GET");
   * await probe.check({ timeoutMs: 2000, clock, signal }); // { kind: "success" }
   * probe.close();
   * ```
   */
  async check(o: Omit<ProbeOptions, "url" | "method">): Promise<CheckResult> {
    let timedOut = false;
    let aborted = o.signal.aborted;
    const timer = o.clock.setTimeout(() => {
      timedOut = true;
      this.close();
    }, o.timeoutMs);
    const onAbort = () => {
      aborted = true;
      o.clock.clearTimeout(timer);
      this.close();
    };
    o.signal.addEventListener("abort", onAbort);
    try {
      if (aborted) throw new Error("cancelled");
      try {
        return await this.#exchange(this.#conn !== undefined, () => timedOut || aborted);
      } catch (err) {
        if (!(err instanceof StaleConnection) || timedOut || aborted) throw err;
        return await this.#exchange(false, () => timedOut || aborted);
      }
    } catch (err) {
      this.close();
      if (timedOut) return { kind: "failure", reason: `timeout after ${o.timeoutMs} ms` };
      if (aborted) return { kind: "inconclusive", reason: "check cancelled" };
      return classifyFetchError(err);
    } finally {
      o.clock.clearTimeout(timer);
      o.signal.removeEventListener("abort", onAbort);
    }
  }

  async #exchange(reused: boolean, cancelled: () => boolean): Promise<CheckResult> {
    if (!reused) {
      this.close();
      const c = await Deno.connect({
        hostname: this.#hostname,
        port: Number(this.#url.port || 80),
      });
      if (cancelled()) {
        c.close();
        throw new Error("cancelled");
      }
      this.#conn = c;
    }
    const conn = this.#conn!;
    let acc: Uint8Array = new Uint8Array(0);
    let end = -1;
    try {
      await conn.write(this.#request);
      while ((end = headEnd(acc)) < 0) {
        const n = await conn.read(this.#buf);
        if (n === null) throw new Error("connection closed before the response (unexpected eof)");
        acc = concat(acc, this.#buf.subarray(0, n));
        if (acc.length > 16_384) throw new Error("response headers too large");
      }
    } catch (err) {
      // Nothing came back on a reused connection: it was stale, not the endpoint's fault.
      if (reused && acc.length === 0 && !cancelled()) throw new StaleConnection(String(err));
      throw err;
    }
    const head = decoder.decode(acc.subarray(0, end));
    const rest = acc.subarray(end + 4);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) throw new Error("not an HTTP response");
    const status = Number(m[1]);
    await this.#finishBody(head, status, rest);
    return status === 200 ? { kind: "success" } : { kind: "failure", reason: `status ${status}` };
  }

  /** Skips the body so the connection can be reused, or closes it when that is not possible. */
  async #finishBody(head: string, status: number, already: Uint8Array): Promise<void> {
    const headers = head.toLowerCase();
    const close = /\r\nconnection:\s*close/.test(headers) || head.startsWith("HTTP/1.0");
    const noBody = this.method === "HEAD" || status === 204 || status === 304 || status < 200;
    const length = /\r\ncontent-length:\s*(\d+)/.exec(headers);
    if (close || (!noBody && !length)) {
      this.close();
      return;
    }
    let left = noBody ? 0 : Number(length![1]) - already.length;
    if (left > 65_536) {
      this.close();
      return;
    }
    while (left > 0) {
      const n = await this.#conn!.read(this.#buf);
      if (n === null) {
        this.close();
        return;
      }
      left -= n;
    }
  }
}

/**
 * A one-off check on a new connection (see {@linkcode HttpProbe} for repeated checks).
 *
 * @example
 * ```ts
 * await probeHttp({ url: "http://10.0.0.1:8080/health", method: "GET", timeoutMs: 2000, clock, signal });
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
