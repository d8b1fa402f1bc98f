/**
 * A strict, minimal HTTP/1.1 request-head parser and response writer for the management
 * port (see `http_server.ts` for why it has its own server). Pure: bytes in, values out.
 *
 * Only what a management port needs: `Content-Length` bodies; `Transfer-Encoding` is
 * refused (501), so no request can be framed two ways. Anything ambiguous is refused
 * rather than guessed at: a space before a header's colon, folded header lines, control
 * characters in values, two `Host` headers, a `Host` that is no host[:port], conflicting
 * lengths (400); a head over the limit (431); a version other than 1.0/1.1 (505). A
 * missing `Host` (HTTP/1.0, or a crude 1.1 client such as a shell script) is served.
 *
 * @module
 */

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  /** The path and query, always starting with `/`. */
  readonly path: string;
  readonly version: "1.0" | "1.1";
  readonly headers: readonly (readonly [string, string])[];
  /** The `Host` value; "" when absent. */
  readonly host: string;
  readonly contentLength: number;
  readonly keepAlive: boolean;
  /** The client waits for `100 Continue` before sending its body. */
  readonly expectContinue: boolean;
}

/** A head that is refused: the status to answer and why. */
export interface HeadError {
  readonly status: 400 | 413 | 417 | 431 | 501 | 505;
  readonly reason: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([^ ]+) ([^ ]+) HTTP\/(\d)\.(\d)$/;
/** An IP literal or a registered name (RFC 3986 host, no userinfo), then an optional port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::(\d{1,5}))?$/;
/** What may not appear in a field value: control characters other than HTAB. */
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Where the head ends in `buf` (the index of its `\r\n\r\n`), -1 when it has not arrived
 * yet, or -2 on a line ending in a bare LF: refused at once rather than waited on.
 *
 * @example
 * ```ts
 * headEnd(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")); // 14
 * ```
 */
export function headEnd(buf: Uint8Array): number {
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== 10) continue;
    if (i === 0 || buf[i - 1] !== 13) return -2;
    if (i >= 3 && buf[i - 2] === 10 && buf[i - 3] === 13) return i - 3;
  }
  return -1;
}

/**
 * One character per byte. HTTP field values are octets; `TextDecoder("latin1")` is really
 * windows-1252 and would turn some bytes into characters `Headers` refuses.
 */
function octets(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

function targetPath(target: string): string | undefined {
  if (target.startsWith("/")) return target;
  // The absolute form (`GET http://host/path`), which servers must accept: keep the path.
  if (/^https?:\/\//i.test(target)) {
    const u = URL.parse(target);
    return u ? u.pathname + u.search : undefined;
  }
  return undefined;
}

/**
 * Parses a request head: the bytes before its `\r\n\r\n`.
 *
 * @example
 * ```ts
 * const head = parseHead(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: x"), 65536);
 * "status" in head ? head.status : head.path; // "/health"
 * ```
 */
export function parseHead(raw: Uint8Array, maxBodyBytes: number): RequestHead | HeadError {
  const lines = octets(raw).split("\r\n");
  const m = REQUEST_LINE.exec(lines[0]);
  if (!m || !TOKEN.test(m[1]) || /[^\x21-\x7e]/.test(m[2])) {
    return { status: 400, reason: "malformed request line" };
  }
  if (m[3] !== "1" || (m[4] !== "0" && m[4] !== "1")) {
    return { status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are served" };
  }
  const version = m[4] === "1" ? "1.1" : "1.0";
  const path = targetPath(m[2]);
  if (path === undefined) return { status: 400, reason: "malformed request target" };
  const headers: [string, string][] = [];
  const hosts: string[] = [];
  let contentLength: string | undefined;
  let connection = "";
  let expect: string | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    // A token right up to the colon: no space before it, no folded continuation line.
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) {
      return { status: 400, reason: "malformed header line" };
    }
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) return { status: 400, reason: "control character in a header" };
    headers.push([name, value]);
    switch (name.toLowerCase()) {
      case "host":
        hosts.push(value);
        break;
      case "content-length":
        // The same length repeated is allowed; two different ones frame two requests.
        for (const v of value.split(",").map((s) => s.trim())) {
          if (!/^\d{1,12}$/.test(v) || (contentLength !== undefined && v !== contentLength)) {
            return { status: 400, reason: "malformed Content-Length" };
          }
          contentLength = v;
        }
        break;
      case "transfer-encoding":
        return { status: 501, reason: "Transfer-Encoding is not supported: send Content-Length" };
      case "connection":
        connection += `,${value.toLowerCase()}`;
        break;
      case "expect":
        expect = value.toLowerCase();
        break;
    }
  }
  if (hosts.length > 1) return { status: 400, reason: "more than one Host header" };
  const host = hosts[0] ?? "";
  const hm = HOST.exec(host);
  if (!hm || (hm[1] !== undefined && Number(hm[1]) > 65535)) {
    return { status: 400, reason: "malformed Host header" };
  }
  const length = contentLength === undefined ? 0 : Number(contentLength);
  if (length > maxBodyBytes) {
    return { status: 413, reason: `request body over ${maxBodyBytes} bytes` };
  }
  if (expect !== undefined && expect !== "100-continue") {
    return { status: 417, reason: "unsupported Expect" };
  }
  const tokens = connection.split(",").map((s) => s.trim());
  return {
    method: m[1],
    path,
    version,
    headers,
    host,
    contentLength: length,
    keepAlive: version === "1.1" ? !tokens.includes("close") : tokens.includes("keep-alive"),
    expectContinue: expect === "100-continue" && length > 0,
  };
}

const REASONS: Readonly<Record<number, string>> = {
  100: "Continue",
  200: "OK",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  413: "Content Too Large",
  417: "Expectation Failed",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

/** Framing headers the writer sets itself. */
const FRAMING = new Set(["content-length", "transfer-encoding", "connection"]);
const encoder = new TextEncoder();

/**
 * A response's bytes: status line, headers, `Content-Length`, `Connection`, body (none
 * for HEAD, 1xx, 204 and 304). Line breaks in a header value are replaced, so no value
 * can start a header of its own.
 */
export function serializeResponse(
  status: number,
  headers: Iterable<[string, string]>,
  body: Uint8Array,
  opts: { readonly head: boolean; readonly keepAlive: boolean },
): Uint8Array {
  const noBody = opts.head || status < 200 || status === 204 || status === 304;
  let s = `HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}\r\n`;
  for (const [k, v] of headers) {
    if (!FRAMING.has(k.toLowerCase())) s += `${k}: ${v.replace(/[\r\n]/g, " ")}\r\n`;
  }
  if (status >= 200 && status !== 204) s += `content-length: ${body.length}\r\n`;
  s += `connection: ${opts.keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  const head = encoder.encode(s);
  if (noBody || body.length === 0) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** A plain-text answer to a refused request; the connection closes after it. */
export function errorResponse(status: number, reason: string): Uint8Array {
  return serializeResponse(
    status,
    [["content-type", "text/plain; charset=utf-8"]],
    encoder.encode(`${reason}\n`),
    { head: false, keepAlive: false },
  );
}
