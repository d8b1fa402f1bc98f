/**
 * The raw health-check client against hand-written servers, so each HTTP behaviour
 * (keep-alive, idle close, bodies, chunking) is exercised on purpose.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { HttpProbe } from "../../lib/share/http_probe.ts";
import { freePort } from "../helpers/ports.ts";

interface RawServer {
  port: number;
  connections: number;
  requests: string[];
  close(): Promise<void>;
}

/** A TCP server answering each request with `respond(n)`; `closeAfter` closes after n answers. */
function rawServer(respond: (n: number) => string, closeAfter = Infinity): RawServer {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const s: RawServer = {
    port,
    connections: 0,
    requests: [],
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
        let answered = 0;
        try {
          while (answered < closeAfter) {
            const n = await conn.read(buf);
            if (n === null) break;
            s.requests.push(new TextDecoder().decode(buf.subarray(0, n)).split("\r\n")[0]);
            await conn.write(new TextEncoder().encode(respond(s.requests.length)));
            answered++;
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

Deno.test("http probe: one kept-alive connection serves many checks", async () => {
  const srv = rawServer(() => ok);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET");
  try {
    for (let i = 0; i < 5; i++) deepStrictEqual(await p.check(opts()), { kind: "success" });
    strictEqual(srv.connections, 1);
    strictEqual(srv.requests[0], "GET /health HTTP/1.1");
  } finally {
    p.close();
    await srv.close();
  }
});

Deno.test("http probe: a connection the server closed while idle is not a failure", async () => {
  // The server answers once per connection, then closes it (an idle timeout, in effect).
  const srv = rawServer(() => ok, 1);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/health`, "GET");
  try {
    for (let i = 0; i < 4; i++) {
      deepStrictEqual(await p.check(opts()), { kind: "success" });
      await new Promise((r) => setTimeout(r, 20));
    }
    strictEqual(srv.connections, 4);
  } finally {
    p.close();
    await srv.close();
  }
});

Deno.test("http probe: statuses, HEAD, chunked bodies and Connection: close", async () => {
  const responses = [
    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    ok,
  ];
  const srv = rawServer((n) => responses[(n - 1) % responses.length]);
  const p = new HttpProbe(`http://127.0.0.1:${srv.port}/h`, "GET");
  try {
    deepStrictEqual(await p.check(opts()), { kind: "failure", reason: "status 500" });
    deepStrictEqual(await p.check(opts()), { kind: "success" }); // chunked: not reusable
    deepStrictEqual(await p.check(opts()), { kind: "success" }); // Connection: close
    deepStrictEqual(await p.check(opts()), { kind: "success" });
    strictEqual(srv.connections, 3);
  } finally {
    p.close();
    await srv.close();
  }
  const head = rawServer(() => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  const h = new HttpProbe(`http://127.0.0.1:${head.port}/h`, "HEAD");
  try {
    deepStrictEqual(await h.check(opts()), { kind: "success" });
    deepStrictEqual(await h.check(opts()), { kind: "success" });
    strictEqual(head.connections, 1, "a HEAD answer has no body to wait for");
    strictEqual(head.requests[0], "HEAD /h HTTP/1.1");
  } finally {
    h.close();
    await head.close();
  }
});

Deno.test("http probe: refused, timed out, not HTTP", async () => {
  const port = freePort();
  deepStrictEqual(await new HttpProbe(`http://127.0.0.1:${port}/h`, "GET").check(opts()), {
    kind: "failure",
    reason: "connection refused",
  });
  const silent = rawServer(() => "");
  const p = new HttpProbe(`http://127.0.0.1:${silent.port}/h`, "GET");
  deepStrictEqual(await p.check({ ...opts(), timeoutMs: 200 }), {
    kind: "failure",
    reason: "timeout after 200 ms",
  });
  p.close();
  await silent.close();
  const junk = rawServer(() => "SSH-2.0-OpenSSH\r\n\r\n");
  const j = new HttpProbe(`http://127.0.0.1:${junk.port}/h`, "GET");
  strictEqual((await j.check(opts())).kind, "failure");
  j.close();
  await junk.close();
});
