/**
 * A minimal HTTP/1.1 client over a fresh TCP connection per request: lets tests set the
 * Host header freely and guarantees no connection reuse (a kept-alive connection would
 * stay on an old nginx worker after a reload).
 *
 * @module
 */

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * @example
 * ```ts
 * const r = await httpGet(8080, "/", { host: "one.example.com" });
 * r.status; // 200
 * ```
 */
export async function httpGet(
  port: number,
  path: string,
  opts: { host?: string; method?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), opts.timeoutMs ?? 10_000);
  try {
    const req =
      `${opts.method ?? "GET"} ${path} HTTP/1.1\r\nHost: ${opts.host ?? "localhost"}\r\n` +
      `Connection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = new TextDecoder().decode(concat(chunks));
    const head = text.slice(0, text.indexOf("\r\n\r\n"));
    const [statusLine, ...lines] = head.split("\r\n");
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(":");
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let body = text.slice(head.length + 4);
    if (headers["transfer-encoding"] === "chunked") body = unchunk(body);
    return { status: Number(statusLine.split(" ")[1]), headers, body };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer or the peer.
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function unchunk(s: string): string {
  let out = "";
  let rest = s;
  for (;;) {
    const i = rest.indexOf("\r\n");
    const size = parseInt(rest.slice(0, i), 16);
    if (!size) return out;
    out += rest.slice(i + 2, i + 2 + size);
    rest = rest.slice(i + 2 + size + 2);
  }
}
