// nginx-native mirroring (`mirror_sources`) end to end: aurproxy run as a subprocess with
// `deno task run`'s permissions beside a real nginx, a primary backend and a counting
// mirror backend that can answer at once, hang, or be gone. The client must see the
// primary's answers only, and nothing of a dead or slow mirror but what nginx imposes
// (a kept-alive or closing connection waits for the copy, bounded by mirror_timeout).

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { startBackend } from "../../testing/backend.ts";
import { startCliStack } from "../../testing/cli_stack.ts";
import { freePort, waitFor } from "../../testing/ports.ts";

/** A mirror backend that counts what it receives and can be made slow or gone. */
interface MirrorBackend {
  readonly port: number;
  /** Request paths received, in order (with the method when not GET). */
  readonly seen: string[];
  /** Bodies of requests that had one. */
  readonly bodies: string[];
  /** ms before answering (0: at once). */
  delayMs: number;
  close(): Promise<void>;
}

function startMirrorBackend(port = freePort()): Promise<MirrorBackend> {
  const ac = new AbortController();
  const b: MirrorBackend = {
    port,
    seen: [],
    bodies: [],
    delayMs: 0,
    close: async () => {
      ac.abort();
      await Promise.race([server.finished, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => ready() },
    async (req) => {
      const path = new URL(req.url).pathname;
      b.seen.push(req.method === "GET" ? path : `${req.method} ${path}`);
      const text = await req.text();
      if (text) b.bodies.push(text);
      if (b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
      return new Response("mirror", { headers: { "x-backend": "mirror" } });
    },
  );
  return listening.then(() => b);
}

interface Timed {
  readonly status: number;
  readonly body: string;
  /** Until the whole answer (headers and Content-Length body) was in. */
  readonly answerMs: number;
  /** Until nginx closed the connection (`Connection: close`). */
  readonly closeMs: number;
}

/** One request on a fresh connection, timing the answer and the close apart. */
async function timed(port: number, path: string, method = "GET", body = ""): Promise<Timed> {
  const t0 = performance.now();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    const head = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
      (body ? `Content-Length: ${new TextEncoder().encode(body).length}\r\n` : "") + "\r\n";
    await conn.write(new TextEncoder().encode(head + body));
    let text = "";
    let answerMs = -1;
    const buf = new Uint8Array(16 * 1024);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
      if (answerMs < 0) {
        const end = text.indexOf("\r\n\r\n");
        const len = /content-length: *(\d+)/i.exec(text.slice(0, end));
        if (end >= 0 && len && text.length >= end + 4 + Number(len[1])) {
          answerMs = performance.now() - t0;
        }
      }
    }
    const closeMs = performance.now() - t0;
    const end = text.indexOf("\r\n\r\n");
    return {
      status: Number(text.slice(9, 12)),
      body: text.slice(end + 4),
      answerMs: answerMs < 0 ? closeMs : answerMs,
      closeMs,
    };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed.
    }
  }
}

/**
 * Two requests one after the other on one kept-alive connection: how long the second
 * took from being sent to its answer (nginx reads it once the first one's copy is done).
 */
async function keptAliveSecond(port: number, path: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 10_000);
  const buf = new Uint8Array(16 * 1024);
  const dec = new TextDecoder();
  const one = async (p: string) => {
    await conn.write(new TextEncoder().encode(`GET ${p} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
    let text = "";
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("closed");
      text += dec.decode(buf.subarray(0, n));
      const end = text.indexOf("\r\n\r\n");
      const len = /content-length: *(\d+)/i.exec(text);
      if (end >= 0 && len && text.length >= end + 4 + Number(len[1])) return;
    }
  };
  try {
    await one(`${path}/1`);
    const t0 = performance.now();
    await one(`${path}/2`);
    return performance.now() - t0;
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

Deno.test("nginx mirroring: the mirror pool gets the configured share, the client only the primary's answers; a dead or slow mirror costs the client no error and no answer time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-mirror-nginx-" });
  const primary = await startBackend({ name: "primary" });
  let mirror = await startMirrorBackend();
  const proxyPort = freePort();
  const stat = (name: string, port: number) => ({
    source_class: "static",
    name,
    host: "127.0.0.1",
    port,
  });
  const config = {
    backend: "nginx",
    servers: [{
      hosts: ["default"],
      ports: [proxyPort],
      context: { default_server: "True" },
      routes: [
        {
          locations: ["/"],
          sources: [stat("primary", primary.port)],
          mirror_sources: [stat("mirror", mirror.port)],
          mirror_percent: 25,
        },
        {
          locations: ["/full/"],
          sources: [stat("primary", primary.port)],
          mirror_sources: [stat("mirror", mirror.port)],
        },
      ],
    }],
  };
  const stack = await startCliStack({ dir, config, proxyPorts: [proxyPort] });
  try {
    // 25%: binomial over N requests; the tolerance is 4 standard deviations.
    const N = 400;
    const answers: Timed[] = [];
    for (let i = 0; i < N; i++) answers.push(await timed(proxyPort, `/s/${i}`));
    deepStrictEqual(new Set(answers.map((a) => `${a.status} ${a.body}`)), new Set(["200 primary"]));
    await waitFor("the copies to arrive", () => mirror.seen.length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const copies = mirror.seen.filter((p) => p.startsWith("/s/"));
    const sigma = Math.sqrt(N * 0.25 * 0.75);
    const tolerance = Math.ceil(4 * sigma);
    console.log(`mirror share: ${copies.length}/${N} (expected ${N / 4} ± ${tolerance})`);
    ok(Math.abs(copies.length - N / 4) <= tolerance, `${copies.length} copies of ${N}`);
    // Copies carry the client's URI, and each one at most once.
    strictEqual(new Set(copies).size, copies.length);
    ok(copies.every((p) => /^\/s\/\d+$/.test(p)));
    // 100%: every request, with its method and body.
    mirror.seen.length = 0;
    for (let i = 0; i < 20; i++) {
      strictEqual((await timed(proxyPort, `/full/${i}`)).body, "primary");
    }
    strictEqual((await timed(proxyPort, "/full/post", "POST", "hello mirror")).body, "primary");
    await waitFor("every copy", () => mirror.seen.length === 21);
    deepStrictEqual(mirror.seen.slice(0, 3), ["/full/0", "/full/1", "/full/2"]);
    strictEqual(mirror.seen[20], "POST /full/post");
    deepStrictEqual(mirror.bodies, ["hello mirror"]);
    strictEqual(primary.hits.get("/full/post"), 1);

    const baseline = answers.map((a) => a.answerMs);

    // The mirror backend gone: connections refused.
    await mirror.close();
    const down: Timed[] = [];
    for (let i = 0; i < 100; i++) down.push(await timed(proxyPort, `/full/down${i}`));
    strictEqual(down.filter((a) => a.status !== 200 || a.body !== "primary").length, 0);

    // The mirror backend hanging for 3 s on every copy.
    mirror = await startMirrorBackend(mirror.port);
    mirror.delayMs = 3000;
    const slow: Timed[] = [];
    for (let i = 0; i < 20; i++) slow.push(await timed(proxyPort, `/full/slow${i}`));
    strictEqual(slow.filter((a) => a.status !== 200 || a.body !== "primary").length, 0);
    await waitFor("the slow mirror to have seen the copies", () => mirror.seen.length >= 20);
    const report = (what: string, xs: number[]) =>
      `${what}: p50 ${pct(xs, 0.5).toFixed(1)} ms, p99 ${pct(xs, 0.99).toFixed(1)} ms`;
    console.log(report("answer, mirror up (25%)", baseline));
    console.log(report("answer, mirror down (100%)", down.map((a) => a.answerMs)));
    console.log(report("answer, mirror hanging (100%)", slow.map((a) => a.answerMs)));
    console.log(report("connection close, mirror hanging", slow.map((a) => a.closeMs)));
    // The answer itself never waits for the copy; the close waits at most mirror_timeout
    // (0.5 s), never the mirror's 3 s.
    ok(pct(slow.map((a) => a.answerMs), 0.5) < 250, report("answer", slow.map((a) => a.answerMs)));
    ok(Math.max(...slow.map((a) => a.closeMs)) < 2500, report("close", slow.map((a) => a.closeMs)));
    ok(pct(slow.map((a) => a.closeMs), 0.5) >= 450, "the close waits for the copy's timeout");
    // What nginx imposes on a kept-alive connection: its next request is read once the
    // copy is done, so it waits up to mirror_timeout, not the mirror's 3 s.
    const second = [];
    for (let i = 0; i < 5; i++) second.push(await keptAliveSecond(proxyPort, `/full/ka${i}`));
    console.log(report("second request on a kept-alive connection, mirror hanging", second));
    ok(Math.max(...second) < 2500 && pct(second, 0.5) >= 400, second.join(", "));
    strictEqual(stack.aurproxy.log().includes("ERROR"), false, stack.aurproxy.log());
    ok(stack.aurproxy.log().includes("applied in"), stack.aurproxy.log());
  } finally {
    strictEqual(await stack.stop(), 0);
    await primary.close();
    await mirror.close();
    await Deno.remove(dir, { recursive: true });
  }
});
