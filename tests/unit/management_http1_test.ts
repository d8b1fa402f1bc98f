import { strictEqual } from "node:assert";
import {
  errorResponse,
  headEnd,
  parseHead,
  serializeResponse,
} from "../../lib/management/http1.ts";
import { type HttpLimits, startHttpServer } from "../../lib/management/http_server.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const head = (s: string, maxBody = 1024) => parseHead(enc.encode(s), maxBody);
const status = (s: string, maxBody = 1024) => {
  const h = head(s, maxBody);
  return "status" in h ? h.status : 200;
};

Deno.test("http1: headEnd finds the blank line, waits for more, and refuses a bare LF", () => {
  strictEqual(headEnd(enc.encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nrest")), 23);
  strictEqual(headEnd(enc.encode("GET / HTTP/1.1\r\nHost: a\r\n")), -1);
  strictEqual(headEnd(enc.encode("GET / HTTP/1.1\nHost: a\r\n\r\n")), -2);
});

Deno.test("http1: a request head: method, path, Host, length, keep-alive by version and Connection", () => {
  const h = head("POST /quitquitquit?x=1 HTTP/1.1\r\nHost: localhost:31325\r\nContent-Length: 3");
  if ("status" in h) throw new Error(h.reason);
  strictEqual(h.method, "POST");
  strictEqual(h.path, "/quitquitquit?x=1");
  strictEqual(h.host, "localhost:31325");
  strictEqual(h.contentLength, 3);
  strictEqual(h.keepAlive, true);
  const close = head("GET / HTTP/1.1\r\nConnection: Close");
  strictEqual("status" in close ? "" : close.keepAlive, false);
  const old = head("GET / HTTP/1.0");
  strictEqual("status" in old ? "" : `${old.keepAlive} ${old.host === ""}`, "false true");
  const oldKept = head("GET / HTTP/1.0\r\nConnection: keep-alive");
  strictEqual("status" in oldKept ? "" : oldKept.keepAlive, true);
  const absolute = head("GET http://agent1:31325/health?a HTTP/1.1\r\nHost: agent1:31325");
  strictEqual("status" in absolute ? "" : absolute.path, "/health?a");
  const cont = head("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10");
  strictEqual("status" in cont ? "" : cont.expectContinue, true);
  const noBody = head("POST / HTTP/1.1\r\nExpect: 100-continue");
  strictEqual("status" in noBody ? "" : noBody.expectContinue, false);
  const same = head("POST / HTTP/1.1\r\nContent-Length: 4, 4\r\nContent-Length: 4");
  strictEqual("status" in same ? same.reason : same.contentLength, 4);
});

Deno.test("http1: ambiguous or hostile heads are refused with the right status", () => {
  const cases: [string, number][] = [
    ["GET /health HTTP/1.1\r\nHost : x", 400],
    ["GET /health HTTP/1.1\r\nX-A: 1\r\n  folded", 400],
    ["GET /health HTTP/1.1\r\nX-A: a\x01b", 400],
    ["GET /health HTTP/1.1\r\nHost: a\r\nHost: b", 400],
    ["GET /health HTTP/1.1\r\nContent-Length: 5, 6", 400],
    ["GET /health HTTP/1.1\r\nContent-Length: -1", 400],
    ["GET /health HTTP/1.1\r\nContent-Length: 0x10", 400],
    ["GET /health HTTP/1.1\r\nTransfer-Encoding: chunked", 501],
    ["POST / HTTP/1.1\r\nContent-Length: 1025", 413],
    ["POST / HTTP/1.1\r\nExpect: 200-ok", 417],
    ["GET /health HTTP/2.0", 505],
    ["GET /health HTTP/1.2", 505],
    ["GET /health", 400],
    ["GET  /health HTTP/1.1", 400],
    ["G(T /health HTTP/1.1", 400],
    ["OPTIONS * HTTP/1.1", 400],
    ["GET health HTTP/1.1", 400],
    ["\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400],
    [": x\r\nGET / HTTP/1.1", 400],
  ];
  for (const [h, want] of cases) strictEqual(status(h), want, JSON.stringify(h));
  for (
    const host of [
      "exa mple.com",
      "[::1",
      "a:b:c",
      "[zz]:80",
      "h:99999999",
      "h:65536",
      "a/b",
      "@evil",
      "\x7f",
    ]
  ) {
    strictEqual(
      status(`GET /health HTTP/1.1\r\nHost: ${host}`),
      400,
      `Host ${JSON.stringify(host)}`,
    );
  }
  for (
    const host of [
      "",
      "localhost",
      "localhost:31325",
      "127.0.0.1:1",
      "[::1]:31325",
      "ex%41mple",
      "a-b.c_d",
    ]
  ) {
    strictEqual(
      status(`GET /health HTTP/1.1\r\nHost: ${host}`),
      200,
      `Host ${JSON.stringify(host)}`,
    );
  }
});

Deno.test("http1: responses carry Content-Length and Connection; HEAD and 204 have no body; no header can split the response", () => {
  const text = (b: Uint8Array) => dec.decode(b);
  strictEqual(
    text(
      serializeResponse(
        200,
        [["content-type", "text/plain"], ["content-length", "99"]],
        enc.encode("OK"),
        { head: false, keepAlive: true },
      ),
    ),
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nOK",
  );
  strictEqual(
    text(serializeResponse(200, [], enc.encode("OK"), { head: true, keepAlive: false })),
    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n",
  );
  strictEqual(
    text(serializeResponse(204, [], new Uint8Array(), { head: false, keepAlive: true })),
    "HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n",
  );
  strictEqual(
    text(
      serializeResponse(200, [["x-detail", "a\r\nset-cookie: x"]], new Uint8Array(), {
        head: false,
        keepAlive: false,
      }),
    ).includes("x-detail: a  set-cookie: x\r\n"),
    true,
  );
  strictEqual(
    text(errorResponse(400, "malformed Host header")).endsWith(
      "connection: close\r\n\r\nmalformed Host header\n",
    ),
    true,
  );
});

/** A raw client: writes `data`, reads until the server closes or `until` matches. */
async function exchange(
  port: number,
  data: string,
  opts: { until?: RegExp; timeoutMs?: number; conn?: Deno.Conn } = {},
): Promise<{ text: string; closed: boolean; ms: number }> {
  const conn = opts.conn ?? await Deno.connect({ hostname: "127.0.0.1", port });
  const start = performance.now();
  if (data) await conn.write(enc.encode(data));
  let text = "";
  let closed = false;
  const buf = new Uint8Array(4096);
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }, opts.timeoutMs ?? 3000);
  try {
    for (;;) {
      if (opts.until?.test(text)) break;
      const n = await conn.read(buf).catch(() => null);
      if (n === null) {
        closed = true;
        break;
      }
      text += dec.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  if (!opts.conn || closed) {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
  return { text, closed, ms: performance.now() - start };
}

const LIMITS: HttpLimits = {
  headersTimeoutMs: 300,
  bodyTimeoutMs: 300,
  idleTimeoutMs: 400,
  writeTimeoutMs: 300,
  maxConnections: 4,
  maxHeaderBytes: 1024,
  maxBodyBytes: 64,
  maxRequestsPerConnection: 3,
};

async function withServer(
  fn: (
    port: number,
    metrics: MetricsRegistry,
    logger: ReturnType<typeof memoryLogger>,
  ) => Promise<void>,
) {
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const srv = startHttpServer(
    { hostname: "127.0.0.1", port: 0, logger, metrics, limits: LIMITS },
    async (req, peer) => {
      const url = new URL(req.url);
      if (url.pathname === "/throw") throw new Error("boom");
      const body = req.body ? await req.text() : "";
      return new Response(`${req.method} ${url.pathname} ${peer} ${body}`);
    },
  );
  try {
    await fn(srv.port, metrics, logger);
  } finally {
    await srv.close();
  }
}

Deno.test("http server: keep-alive, pipelining, bodies, 100-continue, and a request cap per connection", async () => {
  await withServer(async (port) => {
    const two = await exchange(
      port,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      { until: /hello$/ },
    );
    strictEqual(two.text.includes("GET /a 127.0.0.1 "), true, two.text);
    strictEqual(two.text.includes("POST /b 127.0.0.1 hello"), true, two.text);
    strictEqual((two.text.match(/connection: keep-alive/g) ?? []).length, 2);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const cont = await exchange(
      port,
      "POST /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
      {
        conn,
        until: /100 Continue\r\n\r\n/,
      },
    );
    strictEqual(cont.text, "HTTP/1.1 100 Continue\r\n\r\n");
    const rest = await exchange(port, "hi", { conn, until: /hi$/ });
    strictEqual(rest.text.endsWith("POST /c 127.0.0.1 hi"), true, rest.text);
    conn.close();
    const capped = await exchange(
      port,
      "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\nGET /4 HTTP/1.1\r\n\r\n",
    );
    strictEqual((capped.text.match(/HTTP\/1.1 200/g) ?? []).length, 3, "at most 3 per connection");
    strictEqual(capped.text.includes("connection: close"), true);
    strictEqual(capped.closed, true);
    const slashes = await exchange(
      port,
      "GET //evil.example/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    strictEqual(slashes.text.endsWith("GET //evil.example/x 127.0.0.1 "), true, slashes.text);
  });
});

Deno.test("http server: idle connects, slowloris heads, slow bodies and idle keep-alives are closed at their deadlines", async () => {
  await withServer(async (port, metrics) => {
    const idle = await exchange(port, "");
    strictEqual(idle.closed, true);
    strictEqual(idle.ms >= 250 && idle.ms < 1500, true, `idle connect closed after ${idle.ms} ms`);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const start = performance.now();
    let closedAt = 0;
    for (const ch of "GET /slow HTTP/1.1\r\nHost: x\r\n") {
      try {
        await conn.write(enc.encode(ch));
      } catch {
        closedAt = performance.now() - start;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const slow = await exchange(port, "", { conn });
    closedAt ||= performance.now() - start;
    strictEqual(slow.text, "", "no answer to a head that never completed");
    strictEqual(closedAt < 1500, true, `slowloris closed after ${closedAt} ms`);
    const body = await exchange(port, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    strictEqual(body.closed && body.text === "", true, "a body that never completes is cut");
    const kept = await Deno.connect({ hostname: "127.0.0.1", port });
    const first = await exchange(port, "GET / HTTP/1.1\r\n\r\n", {
      conn: kept,
      until: /127\.0\.0\.1 $/,
    });
    strictEqual(first.text.includes("200 OK"), true);
    const after = await exchange(port, "", { conn: kept });
    strictEqual(after.closed, true, "idle keep-alive closed");
    strictEqual(
      after.ms >= 300 && after.ms < 1500,
      true,
      `idle keep-alive closed after ${after.ms} ms`,
    );
    strictEqual(metrics.get("management_connections_timed_out_total"), 4);
  });
});

Deno.test("http server: at the cap the longest-waiting connection makes room, so a new request is answered", async () => {
  await withServer(async (port, metrics) => {
    const idle: Deno.Conn[] = [];
    for (let i = 0; i < 4; i++) idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    await new Promise((r) => setTimeout(r, 50));
    const r = await exchange(port, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
    strictEqual(r.text.includes("GET /health 127.0.0.1"), true, r.text);
    strictEqual(metrics.get("management_connections_evicted_total"), 1);
    // The first one was closed to make room.
    strictEqual((await exchange(port, "", { conn: idle[0] })).closed, true);
    for (const c of idle) {
      try {
        c.close();
      } catch {
        // Closed by the server.
      }
    }
  });
});

Deno.test("http server: a malformed request gets its status and no log line; a failing handler gets 500 and a log line", async () => {
  await withServer(async (port, metrics, logger) => {
    for (let i = 0; i < 5; i++) {
      const r = await exchange(port, "GET /health HTTP/1.1\r\nHost: exa mple.com\r\n\r\n");
      strictEqual(r.text.startsWith("HTTP/1.1 400 Bad Request\r\n"), true, r.text);
      strictEqual(r.text.endsWith("malformed Host header\n"), true);
      strictEqual(r.closed, true);
    }
    strictEqual(
      (await exchange(port, "GET / HTTP/1.1\r\nHost: [1:2:3]\r\n\r\n")).text.startsWith(
        "HTTP/1.1 400",
      ),
      true,
    );
    strictEqual(
      (await exchange(port, `GET /${"x".repeat(2000)} HTTP/1.1\r\n\r\n`)).text.startsWith(
        "HTTP/1.1 431",
      ),
      true,
    );
    strictEqual(
      (await exchange(port, "GET / HTTP/1.1\nHost: x\n\n")).text.startsWith("HTTP/1.1 400"),
      true,
    );
    strictEqual(metrics.get("management_bad_requests_total", { status: "400" }), 7);
    strictEqual(metrics.get("management_bad_requests_total", { status: "431" }), 1);
    strictEqual(logger.lines.length, 0, `no line for a bad request: ${logger.lines}`);
    const r = await exchange(port, "GET /throw HTTP/1.1\r\n\r\n");
    strictEqual(r.text.startsWith("HTTP/1.1 500"), true);
    strictEqual(logger.lines.length, 1);
    strictEqual(
      logger.lines[0].includes("management request GET /throw failed: boom"),
      true,
      logger.lines[0],
    );
  });
});

Deno.test("http server: close() returns promptly with idle keep-alive connections open", async () => {
  const srv = startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
    limits: { ...LIMITS, idleTimeoutMs: 60_000 },
  }, () => Promise.resolve(new Response("ok")));
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await exchange(srv.port, "GET / HTTP/1.1\r\n\r\n", { conn, until: /ok$/ });
  const start = performance.now();
  await srv.close();
  strictEqual(performance.now() - start < 500, true);
  strictEqual((await exchange(srv.port, "", { conn })).closed, true);
});
