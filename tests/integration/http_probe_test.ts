/**
 * The raw health-check client against hand-written servers, so each HTTP behaviour
 * (a connection per check, bodies, chunking, servers that never answer) is exercised on
 * purpose.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import type { CheckResult } from "../../lib/share/health_state.ts";
import { HttpProbe } from "../../lib/share/http_probe.ts";
import { startKeepAliveBackend, startUnansweredListener } from "../helpers/backend.ts";
import { freePort } from "../helpers/ports.ts";

interface RawServer {
  port: number;
  connections: number;
  /** Request lines, in order. */
  requests: string[];
  /** Whole request heads, in order. */
  heads: string[];
  close(): Promise<void>;
}

/**
 * A TCP server answering each request with `respond(n)` on kept-alive connections; it
 * closes a connection when the request says `Connection: close`, unless `ignoreClose`.
 */
function rawServer(respond: (n: number) => string, ignoreClose = false): RawServer {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const s: RawServer = {
    port,
    connections: 0,
    requests: [],
    heads: [],
    close: async () => {
      listener.close();
      for (const c of conns) c.close();
      await loop;
    },
  };
  const loop = (async () => {
    for await (const conn of listener) {
      s.connections++;
      conns.add(conn);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            const head = new TextDecoder().decode(buf.subarray(0, n));
            s.heads.push(head);
            s.requests.push(head.split("\r\n")[0]);
            await conn.write(new TextEncoder().encode(respond(s.requests.length)));
            if (!ignoreClose && /\r\nconnection: close\r\n/i.test(head)) break;
          }
        } catch {
          // Closed by the test.
        }
        conns.delete(conn);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      })();
    }
  })().catch(() => {});
  return s;
}

const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const opts = () => ({ timeoutMs: 1000, clock: systemClock, signal: new AbortController().signal });

/** `check` with its duration; fails the test rather than hang if it outlives `guardMs`. */
async function timed(check: Promise<CheckResult>, guardMs = 3000) {
  const t0 = performance.now();
  let guard: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    check,
    new Promise<never>((_, reject) => {
      guard = setTimeout(
        () => reject(new Error(`check still pending after ${guardMs} ms`)),
        guardMs,
      );
    }),
  ]);
  clearTimeout(guard);
  return { result, ms: performance.now() - t0 };
}

Deno.test("http probe: each check opens its own connection and asks the server to close it", async () => {
  const srv = rawServer(() => ok);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET");
  try {
    for (let i = 0; i < 5; i++) deepStrictEqual(await p.check(opts()), { kind: "success" });
    strictEqual(srv.connections, 5);
    strictEqual(srv.requests[0], "GET /health HTTP/1.1");
    strictEqual(/\r\nConnection: close\r\n/.test(srv.heads[0]), true, srv.heads[0]);
  } finally {
    await srv.close();
  }
});

Deno.test("http probe: a server that stops accepting fails the next check, though it still serves old connections", async () => {
  const b = startKeepAliveBackend();
  const p = new HttpProbe(`http://127.0.0.1:${b.port}/health`, "GET");
  // A client that keeps its connection, as the probe once did: the server still answers it.
  const kept = await Deno.connect({ hostname: "127.0.0.1", port: b.port });
  const ask = async () => {
    await kept.write(new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(256);
    const n = await kept.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  };
  try {
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    b.stopAccepting();
    strictEqual(await ask(), "HTTP/1.1 200 OK", "the old connection is still served");
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "connection refused" });
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "connection refused" });
  } finally {
    kept.close();
    await b.close();
  }
});

Deno.test("http probe: statuses, HEAD, chunked bodies, Connection: close and HTTP/1.0", async () => {
  const responses = [
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.0 200 OK\r\n\r\nok",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100_000),
  ];
  const srv = rawServer((n) => responses[(n - 1) % responses.length]);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h?x=1`, "GET");
  try {
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "status 500" });
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "status 503" });
    strictEqual(srv.requests[0], "GET /h?x=1 HTTP/1.1");
  } finally {
    await srv.close();
  }
  const head = rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  const h = new HttpProbe(`http://127.0.0.1:${head.port}/h`, "HEAD");
  try {
    const { result, ms } = await timed(h.check(opts()));
    deepStrictEqual(result, { kind: "success" });
    strictEqual(ms < 500, true, `a HEAD answer has no body to wait for (${ms} ms)`);
    strictEqual(head.requests[0], "HEAD /h HTTP/1.1");
  } finally {
    await head.close();
  }
});

Deno.test("http probe: an answer in time stands even if the server then ignores Connection: close", async () => {
  const srv = rawServer(() => ok, true);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h`, "GET");
  try {
    deepStrictEqual(await p.check({ ...opts(), timeoutMs: 200 }), { kind: "success" });
  } finally {
    await srv.close();
  }
});

Deno.test("http probe: refused, timed out, not HTTP", async () => {
  const port = freePort();
  deepStrictEqual(await new HttpProbe(`http://127.0.0.1:${port}/h`, "GET").check(opts()), {
    kind: "failure",
    reason: "connection refused",
  });
  const silent = rawServer(() => "", true);
  const p = new HttpProbe(`http://127.0.0.1:${silent.port}/h`, "GET");
  deepStrictEqual(await p.check({ ...opts(), timeoutMs: 200 }), {
    kind: "failure",
    reason: "timeout after 200 ms",
  });
  await silent.close();
  const junk = rawServer(() => "SSH-2.0-OpenSSH\r\n\r\n");
  const j = new HttpProbe(`http://127.0.0.1:${junk.port}/h`, "GET");
  deepStrictEqual(await j.check(opts()), { kind: "failure", reason: "not an HTTP response" });
  await junk.close();
});

Deno.test("http probe: a connect whose SYN goes unanswered times out on time", async () => {
  const l = await startUnansweredListener();
  const p = new HttpProbe(`http://127.0.0.1:${l.port}/h`, "GET");
  try {
    const { result, ms } = await timed(p.check({ ...opts(), timeoutMs: 300 }));
    deepStrictEqual(result, { kind: "failure", reason: "timeout after 300 ms" });
    strictEqual(ms >= 290 && ms < 300 + 250, true, `took ${ms} ms`);
  } finally {
    l.close();
  }
});

Deno.test("http probe: stopping ends a pending connect at once", async () => {
  const l = await startUnansweredListener();
  const p = new HttpProbe(`http://127.0.0.1:${l.port}/h`, "GET");
  const ac = new AbortController();
  try {
    const pending = timed(p.check({ ...opts(), timeoutMs: 10_000, signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 100));
    const stoppedAt = performance.now();
    ac.abort();
    const { result } = await pending;
    const after = performance.now() - stoppedAt;
    deepStrictEqual(result, { kind: "inconclusive", reason: "check cancelled" });
    strictEqual(after < 100, true, `ended ${after} ms after the stop`);
  } finally {
    l.close();
  }
});
