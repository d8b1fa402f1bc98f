/**
 * Keep-alive clients for the reload-safety test: each of `connections` loops sends GET
 * after GET on one persistent HTTP/1.1 connection, opening a new one when the server
 * closes it (after a `Connection: close` answer, or at any time).
 *
 * At a reload nginx's old workers close their idle keep-alive connections; a request a
 * client sends at that instant meets a closed connection and gets no answer. With
 * `retryIdempotent`, the client then opens a new connection and sends it again, as
 * RFC 9110 §9.2.2 allows for idempotent methods and browsers, curl and most HTTP client
 * libraries do. A request that fails on a connection it has just opened is never
 * retried: that is a real failure.
 *
 * @module
 */

export interface KeepAliveStats {
  /** Requests answered (any status). */
  readonly answered: number;
  /** Answers other than 200. */
  readonly non200: number;
  /** Requests that met a closed kept-alive connection and were sent again. */
  readonly retried: number;
  /** Requests that got no answer (after the retry, when retrying). */
  readonly failed: number;
  /** Why, for the first few failures. */
  readonly reasons: readonly string[];
}

export interface KeepAliveTraffic {
  /** Stops after the requests in flight and returns the counts. */
  stop(): Promise<KeepAliveStats>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads one response (status, then a Content-Length body); null on EOF before any byte. */
async function readResponse(
  conn: Deno.Conn,
  buf: { data: Uint8Array },
): Promise<{ status: number; close: boolean } | null> {
  const chunk = new Uint8Array(16 * 1024);
  let received = 0;
  for (;;) {
    const text = dec.decode(buf.data);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = text.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      const close = /\r\nconnection:\s*close/i.test(head);
      const total = end + 4 + length;
      while (buf.data.length < total) {
        const n = await conn.read(chunk);
        if (n === null) throw new Error("connection closed inside a response");
        buf.data = concat(buf.data, chunk.subarray(0, n));
      }
      buf.data = buf.data.slice(total);
      return { status, close };
    }
    const n = await conn.read(chunk);
    if (n === null) {
      if (received === 0 && buf.data.length === 0) return null;
      throw new Error("connection closed inside a response head");
    }
    received += n;
    buf.data = concat(buf.data, chunk.subarray(0, n));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * @example
 * ```ts
 * const t = startKeepAliveTraffic(8080, { connections: 4, retryIdempotent: true });
 * // ... reload nginx ...
 * (await t.stop()).failed; // 0
 * ```
 */
export function startKeepAliveTraffic(
  port: number,
  o: { readonly connections: number; readonly retryIdempotent: boolean; readonly path?: string },
): KeepAliveTraffic {
  let running = true;
  let answered = 0, non200 = 0, retried = 0, failed = 0;
  const reasons: string[] = [];
  const request = enc.encode(`GET ${o.path ?? "/"} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  const loop = async () => {
    let conn: Deno.Conn | undefined;
    let fresh = false;
    const buf = { data: new Uint8Array() };
    const drop = () => {
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
      conn = undefined;
      buf.data = new Uint8Array();
    };
    while (running) {
      let retry = false;
      try {
        if (!conn) {
          conn = await Deno.connect({ hostname: "127.0.0.1", port });
          fresh = true;
        }
        await conn.write(request);
        const res = await readResponse(conn, buf);
        if (res === null) throw new Error("closed before any answer");
        answered++;
        if (res.status !== 200) non200++;
        fresh = false;
        if (res.close) drop();
        continue;
      } catch (err) {
        // A kept-alive connection closed under the request: no answer came, so the server
        // did not process it (it closed an idle connection); an idempotent GET may go again.
        retry = o.retryIdempotent && !fresh;
        if (!retry) {
          failed++;
          if (reasons.length < 5) reasons.push((err as Error).message);
        } else retried++;
      }
      drop();
      if (!retry) await new Promise((r) => setTimeout(r, 1));
    }
    drop();
  };
  const loops = Array.from({ length: o.connections }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { answered, non200, retried, failed, reasons };
    },
  };
}
