/**
 * The raw health-check client against hand-written servers, so each HTTP behaviour
 * (kept-alive connections and their redial, stale connections, bodies, chunking, servers
 * that never answer) is exercised on purpose.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import type { CheckResult } from "../../lib/share/health/state.ts";
import { HttpProbe, REDIAL_EVERY } from "../../lib/share/health/probe.ts";
import { startKeepAliveBackend, startUnansweredListener } from "../../testing/backend.ts";
import { freePort, waitFor } from "../../testing/ports.ts";

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

Deno.test("http probe: checks share a kept-alive connection, and a new one is dialled every redialEvery checks", async () => {
  for (const ignoreClose of [false, true]) {
    const srv = rawServer(() => ok, ignoreClose);
    const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET", { redialEvery: 4 });
    try {
      for (let i = 0; i < 12; i++) deepStrictEqual(await p.check(opts()), { kind: "success" });
      strictEqual(srv.connections, 3, `12 checks, a new connection every 4 (${ignoreClose})`);
      strictEqual(srv.requests[0], "GET /health HTTP/1.1");
      // The last check on a connection asks the server to close it (TIME_WAIT on its side).
      const closing = srv.heads.map((h) => /\r\nConnection: close\r\n/.test(h));
      deepStrictEqual(closing, [0, 1, 2].flatMap(() => [false, false, false, true]));
    } finally {
      p.close();
      await srv.close();
    }
  }
  const srv = rawServer(() => ok);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET");
  try {
    for (let i = 0; i < 2 * REDIAL_EVERY; i++) await p.check(opts());
    strictEqual(srv.connections, 2, `${2 * REDIAL_EVERY} checks by default`);
  } finally {
    p.close();
    await srv.close();
  }
});

Deno.test("http probe: a kept connection the server closed while idle is retried at once, never a failure", async () => {
  const b = startKeepAliveBackend({ idleTimeoutMs: 20 });
  const p = new HttpProbe(`http://127.0.0.1:${b.port}/health`, "GET");
  try {
    for (let i = 0; i < 6; i++) {
      const { result, ms } = await timed(p.check(opts()));
      deepStrictEqual(result, { kind: "success" }, `check ${i}`);
      strictEqual(ms < 500, true, `check ${i} took ${ms} ms`);
      await new Promise((r) => setTimeout(r, 60)); // past the server's idle timeout
    }
    strictEqual(b.requests.length, 6, "each check reached the server once: no double count");
    strictEqual(b.connections, 6, "each check found its connection closed and dialled anew");
  } finally {
    p.close();
    await b.close();
  }
});

Deno.test("http probe: a server that stops accepting passes only until the next redial, while it serves old connections", async () => {
  const b = startKeepAliveBackend();
  const p = new HttpProbe(`http://127.0.0.1:${b.port}/health`, "GET", { redialEvery: 3 });
  // Another client's connection, accepted before the listener closed: still answered.
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
    // The blind spot: the probe's own connection still carries redialEvery - 1 checks.
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    strictEqual(b.requests.length, 3, "served on the connection accepted before the stop");
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "connection refused" });
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "connection refused" });
    strictEqual(await ask(), "HTTP/1.1 200 OK", "old connections are still served");
    strictEqual(b.connections, 2, "the probe's and the other client's");
  } finally {
    p.close();
    kept.close();
    await b.close();
  }
});

Deno.test("http probe: after a failed check (500, timeout) the next check dials a new connection", async () => {
  // 1: 200, 2: 500, 3: 200, 4: no answer, 5 and 6: 200.
  const srv = rawServer((n) =>
    n === 2
      ? "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail"
      : n === 4
      ? ""
      : ok
  );
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET");
  const after: number[] = [];
  try {
    const expected = [
      { kind: "success" },
      { kind: "failure", reason: "status 500" },
      { kind: "success" },
      { kind: "failure", reason: "timeout after 200 ms" },
      { kind: "success" },
      { kind: "success" },
    ];
    for (const [i, want] of expected.entries()) {
      deepStrictEqual(await p.check({ ...opts(), timeoutMs: 200 }), want, `check ${i + 1}`);
      after.push(srv.connections);
    }
    deepStrictEqual(after, [1, 1, 2, 2, 3, 3], "connections accepted after each check");
  } finally {
    p.close();
    await srv.close();
  }
});

Deno.test("http probe: close releases the kept connection", async () => {
  const b = startKeepAliveBackend();
  const p = new HttpProbe(`http://127.0.0.1:${b.port}/health`, "GET");
  try {
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    strictEqual(b.open, 1);
    p.close();
    await waitFor("the server saw the connection close", () => b.open === 0, 2000, 5);
    p.close(); // idempotent
  } finally {
    p.close();
    await b.close();
  }
});

Deno.test("http probe: statuses, HEAD, bodies; only a 200 of known, short length keeps the connection", async () => {
  const responses = [
    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(1000),
    ok,
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100_000),
    "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(100_000),
    "HTTP/1.1 200 OK\r\n\r\nok",
    ok,
  ];
  const srv = rawServer((n) => responses[n - 1]);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h?x=1`, "GET");
  const after: number[] = [];
  try {
    const expected = [
      { kind: "success" },
      { kind: "success" },
      { kind: "failure", reason: "status 500" },
      { kind: "success" },
      { kind: "success" },
      { kind: "success" },
      { kind: "failure", reason: "status 503" },
      { kind: "success" },
      { kind: "success" },
      { kind: "success" },
    ];
    for (const [i, want] of expected.entries()) {
      deepStrictEqual(await p.check(opts()), want, `check ${i + 1}`);
      after.push(srv.connections);
    }
    strictEqual(srv.requests[0], "GET /h?x=1 HTTP/1.1");
    // A 1,000-byte body is skipped and the connection reused; a 500, a chunked body, a
    // Connection: close, HTTP/1.0, a long body and one of unknown length each end it.
    deepStrictEqual(after, [1, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
  } finally {
    p.close();
    await srv.close();
  }
  const head = rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  const h = new HttpProbe(`http://127.0.0.1:${head.port}/h`, "HEAD");
  try {
    for (let i = 0; i < 2; i++) {
      const { result, ms } = await timed(h.check(opts()));
      deepStrictEqual(result, { kind: "success" });
      strictEqual(ms < 500, true, `a HEAD answer has no body to wait for (${ms} ms)`);
    }
    strictEqual(head.requests[0], "HEAD /h HTTP/1.1");
    strictEqual(head.connections, 1, "the connection carries the next HEAD check");
  } finally {
    h.close();
    await head.close();
  }
});

Deno.test("http probe: an answer in time stands even if its body does not come in time", async () => {
  const srv = rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok");
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h`, "GET");
  try {
    const { result, ms } = await timed(p.check({ ...opts(), timeoutMs: 200 }));
    deepStrictEqual(result, { kind: "success" });
    strictEqual(ms >= 190, true, `waited for the body until the timeout (${ms} ms)`);
    deepStrictEqual(await p.check({ ...opts(), timeoutMs: 200 }), { kind: "success" });
    strictEqual(srv.connections, 2, "the connection cut mid-body is not reused");
  } finally {
    p.close();
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
  p.close();
  await silent.close();
  const junk = rawServer(() => "SSH-2.0-OpenSSH\r\n\r\n");
  const j = new HttpProbe(`http://127.0.0.1:${junk.port}/h`, "GET");
  deepStrictEqual(await j.check(opts()), { kind: "failure", reason: "not an HTTP response" });
  j.close();
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

Deno.test("http probe: stopping ends a check waiting on a kept connection at once", async () => {
  const srv = rawServer((n) => n === 1 ? ok : ""); // answers the first request only
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h`, "GET");
  const ac = new AbortController();
  try {
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    const pending = timed(p.check({ ...opts(), timeoutMs: 10_000, signal: ac.signal }));
    await waitFor("the second request sent", () => srv.requests.length === 2, 2000, 5);
    const stoppedAt = performance.now();
    ac.abort();
    const { result } = await pending;
    const after = performance.now() - stoppedAt;
    deepStrictEqual(result, { kind: "inconclusive", reason: "check cancelled" });
    strictEqual(after < 100, true, `ended ${after} ms after the stop`);
    strictEqual(srv.connections, 1, "the check was waiting on the kept connection");
  } finally {
    p.close();
    await srv.close();
  }
});
