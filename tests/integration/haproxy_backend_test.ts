/**
 * The HAProxy backend against a real HAProxy and real backends: what the contract does
 * not cover. Routing (Host, path, blacklist, health route, empty route, TCP, standby
 * overflow as backup), changes applied through the runtime API with HAProxy's pids
 * unchanged, structural changes by a seamless reload under traffic, the runtime API
 * failing, and a config HAProxy rejects at reload.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { HaproxyBackend } from "../../lib/backends/haproxy/backend.ts";
import { computeWeights } from "../../lib/balance/weights.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot, RouteSnapshot } from "../../lib/model/snapshot.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { haproxyOptions, runHaproxy, type RunningHaproxy } from "../../testing/haproxy_rig.ts";
import { httpGet } from "../../testing/http.ts";
import { startKeepAliveTraffic } from "../../testing/keepalive_traffic.ts";
import { freePort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";
import { startTraffic } from "../../testing/traffic.ts";

interface Rig {
  readonly dir: string;
  readonly backend: HaproxyBackend;
  readonly metrics: MetricsRegistry;
  /** Writes `snap` (`reload: false`) and starts HAProxy on it. */
  start(
    snap: ProxySnapshot,
    ports: readonly number[],
    o?: { masterCli?: boolean },
  ): Promise<RunningHaproxy>;
  backends(...names: string[]): Promise<TestBackend[]>;
}

function rigTest(name: string, fn: (r: Rig) => Promise<void>) {
  Deno.test(`haproxy: ${name}`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "aurproxy-haproxy-" });
    const metrics = new MetricsRegistry("aurproxy");
    const backend = new HaproxyBackend(haproxyOptions(dir), { logger: memoryLogger(), metrics });
    const running: RunningHaproxy[] = [];
    const started: TestBackend[] = [];
    try {
      await fn({
        dir,
        backend,
        metrics,
        start: async (snap, ports, o) => {
          const r = await backend.apply(snap, { reload: false });
          strictEqual(r.kind, "applied", JSON.stringify(r));
          const h = await runHaproxy(backend.options, ports, o);
          running.push(h);
          return h;
        },
        backends: async (...names) => {
          const list = await Promise.all(names.map((n) => startBackend({ name: n })));
          started.push(...list);
          return list;
        },
      });
    } finally {
      for (const h of running) await h.stop();
      for (const b of started) await b.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
}

async function bodies(port: number, n: number, path = "/", host?: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await httpGet(port, path, { host })).body);
  return out;
}

/** `next` with `base`'s slugs: `testing/snapshots.ts` makes new ones on every call. */
function sameSlugs(base: ProxySnapshot, next: ProxySnapshot): ProxySnapshot {
  return {
    ...next,
    servers: next.servers.map((s, i) => ({
      ...s,
      slug: base.servers[i]?.slug ?? s.slug,
      routes: s.routes.map((r, j) => ({ ...r, slug: base.servers[i]?.routes[j]?.slug ?? r.slug })),
    })),
  };
}

const ROUTE = snapshot([{ ports: [1], routes: [{ locations: ["/"], ports: [] }] }]);

/** One route on `port`, always with the same slugs (the same HAProxy backend). */
const route = (port: number, ports: number[], shares?: number[]) =>
  sameSlugs(ROUTE, snapshot([{ ports: [port], routes: [{ locations: ["/"], ports, shares }] }]));

rigTest(
  "routes by Host (exact, wildcards, default_server) and by longest path prefix, as nginx",
  async ({ start, backends }) => {
    const [a, b, c, d] = await backends("a", "b", "c", "d");
    const port = freePort();
    const snap = snapshot([
      {
        hosts: ["one.example.com"],
        ports: [port],
        routes: [
          { locations: ["/"], ports: [a.port] },
          { locations: ["/api/"], ports: [b.port] },
          { locations: ["= /exact"], ports: [c.port] },
        ],
      },
      { hosts: ["*.example.com"], ports: [port], routes: [{ locations: ["/"], ports: [c.port] }] },
      {
        hosts: ["two.*"],
        ports: [port],
        context: { default_server: true },
        routes: [{ locations: ["/"], ports: [d.port] }],
      },
    ]);
    await start(snap, [port]);
    const get = async (host: string, path: string) => (await httpGet(port, path, { host })).body;
    strictEqual(await get("one.example.com", "/x"), "a");
    strictEqual(await get("ONE.example.com:80", "/x"), "a", "case and port ignored");
    strictEqual(await get("one.example.com", "/api/v1"), "b", "longest prefix");
    strictEqual(await get("one.example.com", "/exact"), "c", "exact location");
    strictEqual(await get("one.example.com", "/exact/more"), "a", "exact is exact");
    strictEqual(await get("three.example.com", "/"), "c", "leading wildcard");
    strictEqual(await get("two.example.org", "/"), "d", "trailing wildcard");
    strictEqual(await get("unknown.org", "/"), "d", "default_server");
  },
);

rigTest(
  "health route, blacklist, empty route status, no location, TCP stream",
  async ({ start, backends }) => {
    const [a, t] = await backends("a", "t");
    const port = freePort();
    const tcp = freePort();
    const overflow = freePort();
    const snap = snapshot([
      {
        ports: [port],
        healthcheckRoute: "/healthcheck",
        context: { location_blacklist: ["/private"], overflow_port: overflow },
        routes: [
          { locations: ["/app/"], ports: [a.port] },
          { locations: ["/none/"], ports: [], emptyEndpointStatusCode: 418 },
        ],
      },
      { ports: [tcp], stream: [t.port] },
    ]);
    await start(snap, [port, tcp, overflow]);
    strictEqual((await httpGet(overflow, "/anything")).status, 502, "overflow_port");
    const health = await httpGet(port, "/healthcheck");
    deepStrictEqual([health.status, health.body], [200, ""], "answered by HAProxy itself");
    strictEqual((await httpGet(port, "/private/x")).status, 403);
    strictEqual((await httpGet(port, "/none/")).status, 418);
    strictEqual((await httpGet(port, "/elsewhere")).status, 404);
    strictEqual((await httpGet(port, "/app/x")).body, "a");
    strictEqual((await httpGet(tcp, "/over-tcp")).body, "t", "a TCP stream relays HTTP too");
    strictEqual(t.hits.get("/over-tcp"), 1);
  },
);

rigTest(
  "proxy headers: X-Forwarded-For, X-Real-IP and Host reach the endpoint",
  async ({ start }) => {
    const port = freePort();
    const seen: Record<string, string> = {};
    const echo = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
      for (const h of ["x-forwarded-for", "x-real-ip", "host"]) seen[h] = req.headers.get(h) ?? "";
      return new Response("ok");
    });
    try {
      await start(route(port, [echo.addr.port]), [port]);
      strictEqual((await httpGet(port, "/", { host: "svc.example.com" })).body, "ok");
      deepStrictEqual(seen, {
        "x-forwarded-for": "127.0.0.1",
        "x-real-ip": "127.0.0.1",
        host: "svc.example.com",
      });
    } finally {
      await echo.shutdown();
    }
  },
);

/** One route with a primary pool and an overflow pool. */
function withOverflow(port: number, primary: number[], shares: number[], overflow: number[]) {
  const member = (p: number, share?: number) => ({
    endpoint: { host: "127.0.0.1", port: p, ports: { default: p } },
    source: "test",
    factors: share === undefined ? [] : [{ name: "test", share, detail: "set by test" }],
  });
  const r = computeWeights({
    primary: primary.map((p, i) => member(p, shares[i])),
    overflow: overflow.map((p) => member(p)),
    adjust: true,
  });
  const base = sameSlugs(
    ROUTE,
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [] }] }]),
  );
  const s = base.servers[0];
  const rt: RouteSnapshot = { ...s.routes[0], endpoints: r.endpoints, notes: r.notes };
  return { ...base, servers: [{ ...s, routes: [rt] }] };
}

rigTest(
  "standby overflow endpoints are backup servers; they take traffic without a reload when the primaries lose theirs",
  async ({ start, backends, backend }) => {
    const [a, o] = await backends("a", "o");
    const port = freePort();
    const first = withOverflow(port, [a.port], [1], [o.port]);
    const h = await start(first, [port]);
    ok(/server b1 127\.0\.0\.1:\d+ backup weight 1/.test(backend.render(first)), "a backup slot");
    deepStrictEqual(new Set(await bodies(port, 6)), new Set(["a"]), "standby takes none");
    const pids = await h.pids();
    const r = await backend.apply(withOverflow(port, [a.port], [0], [o.port]), { reload: true });
    // The known state is unknown after --setup: the first apply reloads once.
    strictEqual(r.kind, "applied", JSON.stringify(r));
    deepStrictEqual(new Set(await bodies(port, 6)), new Set(["o"]), "overflow serves");
    const back = await backend.apply(first, { reload: true });
    deepStrictEqual(back, { ...back, kind: "applied", reloaded: false }, "runtime API only");
    deepStrictEqual(new Set(await bodies(port, 6)), new Set(["a"]));
    strictEqual((await h.pids()).master, pids.master);
  },
);

rigTest(
  "weight changes, joins and leaves go through the runtime API: HAProxy's pids unchanged, traffic follows at once",
  async ({ start, backends, backend, metrics }) => {
    const [a, b, c] = await backends("a", "b", "c");
    const port = freePort();
    const h = await start(route(port, [a.port]), [port]);
    // Written with reload: false, then started: the first apply reloads to know what runs.
    const known = await backend.apply(route(port, [a.port, b.port]), { reload: true });
    strictEqual(known.kind === "applied" && known.reloaded, true, JSON.stringify(known));
    const pids = await h.pids();
    const weighted = await backend.apply(route(port, [a.port, b.port], [1, 0]), { reload: true });
    deepStrictEqual(weighted, { ...weighted, kind: "applied", reloaded: false });
    deepStrictEqual(new Set(await bodies(port, 8)), new Set(["a"]), "weight 0 takes none");
    const joined = await backend.apply(route(port, [a.port, b.port, c.port], [0, 0, 1]), {
      reload: true,
    });
    deepStrictEqual(joined, { ...joined, kind: "applied", reloaded: false });
    deepStrictEqual(new Set(await bodies(port, 8)), new Set(["c"]), "the new member serves");
    const left = await backend.apply(route(port, [b.port]), { reload: true });
    deepStrictEqual(left, { ...left, kind: "applied", reloaded: false });
    deepStrictEqual(new Set(await bodies(port, 8)), new Set(["b"]));
    deepStrictEqual(await h.pids(), pids, "no reload: same master, same worker");
    strictEqual(metrics.get("haproxy_runtime_changes_total"), 3);
    const file = await Deno.readTextFile(backend.options.configurationFile);
    strictEqual(file, backend.render(route(port, [b.port])), "the file holds the running state");
    ok(file.includes(`127.0.0.1:${b.port} weight 256`), file);
    const live = await backend.liveEndpoints();
    deepStrictEqual(
      [...live!.upstreams.values()].flat().map((s) => [s.port, s.weight, s.pool]),
      [[b.port, 256, "primary"]],
      "read back for sources that cannot read their registry yet",
    );
  },
);

rigTest(
  "a structural change is a seamless reload: no request fails, new-connection or keep-alive",
  async ({ start, backends, backend }) => {
    const [a, b] = await backends("a", "b");
    const port = freePort();
    const h = await start(route(port, [a.port]), [port]);
    await backend.apply(route(port, [a.port]), { reload: true });
    const before = await h.pids();
    const fresh = startTraffic(port, { tag: () => 0 });
    const kept = startKeepAliveTraffic(port, { connections: 8, retryIdempotent: false });
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 5; i++) {
      // A new route is structure: a reload each time.
      const snap = sameSlugs(
        ROUTE,
        snapshot([{
          ports: [port],
          routes: [{ locations: ["/"], ports: [a.port, b.port] }, {
            locations: [`/extra${i}/`],
            ports: [b.port],
          }],
        }]),
      );
      const r = await backend.apply(snap, { reload: true });
      strictEqual(r.kind === "applied" && r.reloaded, true, JSON.stringify(r));
      await new Promise((r) => setTimeout(r, 200));
    }
    await fresh.stop();
    const stats = await kept.stop();
    deepStrictEqual(fresh.failures(), [], "new connections");
    ok(fresh.records.length > 20, `requests sent: ${fresh.records.length}`);
    deepStrictEqual([stats.failed, stats.non200, stats.reasons], [0, 0, []], "keep-alive");
    ok(stats.answered > 50, `keep-alive answered: ${stats.answered}`);
    const after = await h.pids();
    strictEqual(after.master, before.master, "the same master");
    ok(!after.workers.some((w) => before.workers.includes(w)), "a new worker");
  },
);

rigTest(
  "a runtime API failure (the stats socket gone) falls back to a reload of the full desired config",
  async ({ start, backends, backend, metrics }) => {
    const [a, b] = await backends("a", "b");
    const port = freePort();
    const h = await start(route(port, [a.port]), [port]);
    await backend.apply(route(port, [a.port]), { reload: true });
    const before = await h.pids();
    await Deno.remove(backend.options.statsSocket);
    const r = await backend.apply(route(port, [a.port, b.port], [0, 1]), { reload: true });
    strictEqual(r.kind === "applied" && r.reloaded, true, JSON.stringify(r));
    strictEqual(metrics.get("haproxy_runtime_failures_total"), 1);
    deepStrictEqual(new Set(await bodies(port, 6)), new Set(["b"]));
    const after = await h.pids();
    ok(!after.workers.some((w) => before.workers.includes(w)), "reloaded");
    strictEqual(after.master, before.master);
    // The new worker inherits the socket, not its path: every change reloads from now on,
    // each one confirmed through the master CLI, until HAProxy restarts.
    const next = await backend.apply(route(port, [a.port, b.port], [1, 0]), { reload: true });
    strictEqual(next.kind === "applied" && next.reloaded, true, JSON.stringify(next));
    deepStrictEqual(new Set(await bodies(port, 6)), new Set(["a"]));
  },
);

rigTest(
  "a runtime state that differs from the desired one (changed behind aurproxy's back) is repaired by a reload",
  async ({ start, backends, backend }) => {
    const [a, b] = await backends("a", "b");
    const port = freePort();
    await start(route(port, [a.port]), [port]);
    await backend.apply(route(port, [a.port, b.port]), { reload: true });
    // Someone puts p2 into maintenance through the socket; aurproxy then changes p1 only.
    const { RuntimeApi } = await import("../../lib/backends/haproxy/runtime_api.ts");
    const api = new RuntimeApi({ socketPath: backend.options.statsSocket });
    const file = await Deno.readTextFile(backend.options.configurationFile);
    const be = /^backend (\S+)/m.exec(file)![1];
    await api.command(`set server ${be}/p1 addr 127.0.0.1 port 1`);
    const r = await backend.apply(route(port, [a.port, b.port], [1, 0.5]), { reload: true });
    strictEqual(r.kind === "applied" && r.reloaded, true, JSON.stringify(r));
    const got = await bodies(port, 12);
    ok(got.every((x) => x === "a" || x === "b") && got.includes("a"), `repaired: ${got}`);
  },
);

rigTest(
  "a config HAProxy rejects at reload (a port it cannot bind) leaves the previous one serving and on disk",
  async ({ start, backends, backend }) => {
    const [a] = await backends("a");
    const port = freePort();
    await start(route(port, [a.port]), [port]);
    await backend.apply(route(port, [a.port]), { reload: true });
    const live = await Deno.readTextFile(backend.options.configurationFile);
    const taken = Deno.listen({ hostname: "0.0.0.0", port: freePort() });
    try {
      const snap = snapshot([
        { ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] },
        { ports: [taken.addr.port], routes: [{ locations: ["/"], ports: [a.port] }] },
      ]);
      deepStrictEqual(await backend.validate(snap), { ok: true }, "haproxy -c cannot know");
      const r = await backend.apply(snap, { reload: true });
      strictEqual(r.kind, "reload_failed", JSON.stringify(r));
      strictEqual(await Deno.readTextFile(backend.options.configurationFile), live, "file back");
      deepStrictEqual(await bodies(port, 3), ["a", "a", "a"], "still serving");
      strictEqual(
        (await backend.apply(snap, { reload: true })).kind,
        "reload_failed",
        "not retried",
      );
    } finally {
      taken.close();
    }
    // The desired config changes: applied again.
    const [b] = await backends("b");
    const r = await backend.apply(route(port, [b.port]), { reload: true });
    strictEqual(r.kind, "applied", JSON.stringify(r));
    deepStrictEqual(await bodies(port, 3), ["b", "b", "b"]);
  },
);

rigTest(
  "an HAProxy started without a master CLI is found by its pid file and reloaded by a signal",
  async ({ start, backends, backend }) => {
    const [a, b] = await backends("a", "b");
    const port = freePort();
    await start(route(port, [a.port]), [port], { masterCli: false });
    const { workerPid } = await import("../../lib/backends/haproxy/reload.ts");
    const { RuntimeApi } = await import("../../lib/backends/haproxy/runtime_api.ts");
    const api = new RuntimeApi({ socketPath: backend.options.statsSocket });
    const before = await workerPid(api);
    const r = await backend.apply(route(port, [b.port]), { reload: true });
    strictEqual(r.kind === "applied" && r.reloaded, true, JSON.stringify(r));
    ok((await workerPid(api)) !== before, "a new worker");
    deepStrictEqual(new Set(await bodies(port, 4)), new Set(["b"]));
    const next = await backend.apply(route(port, [a.port, b.port], [1, 0]), { reload: true });
    deepStrictEqual(next, { ...next, kind: "applied", reloaded: false }, "then the runtime API");
    deepStrictEqual(new Set(await bodies(port, 4)), new Set(["a"]));
  },
);

/** A server that reads each request and closes the connection without an answer. */
function startHangUp(): { port: number; requests: string[]; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: string[] = [];
  (async () => {
    for await (const conn of listener) {
      const buf = new Uint8Array(4096);
      conn.read(buf).then((n) => {
        requests.push(new TextDecoder().decode(buf.subarray(0, n ?? 0)).split(" ")[0]);
        conn.close();
      }).catch(() => {});
    }
  })().catch(() => {});
  return { port: listener.addr.port, requests, close: () => listener.close() };
}

rigTest(
  "retries as nginx: a refused or empty attempt goes to another endpoint; a sent POST is not sent again",
  async ({ start, backends, backend }) => {
    const [a] = await backends("a");
    const port = freePort();
    const gone = freePort();
    const hangUp = startHangUp();
    try {
      // One failing endpoint at a time: a retry goes to another server than the one just
      // tried, but HAProxy remembers only that one (nginx: every server tried).
      await start(route(port, [a.port, gone]), [port]);
      deepStrictEqual(new Set(await bodies(port, 12)), new Set(["a"]), "refused: retried");
      await backend.apply(route(port, [a.port, hangUp.port]), { reload: true });
      const gets = await bodies(port, 12);
      deepStrictEqual(new Set(gets), new Set(["a"]), "every GET answered by a");
      ok(hangUp.requests.includes("GET"), "some GETs met the hang-up first and were retried");
      const posts: number[] = [];
      for (let i = 0; i < 12; i++) {
        posts.push((await httpGet(port, "/", { method: "POST" })).status);
      }
      const lost = hangUp.requests.filter((m) => m === "POST").length;
      ok(lost > 0, "some POSTs were sent to the hang-up");
      strictEqual(posts.filter((s) => s !== 200).length, lost, `not sent again: ${posts}`);
    } finally {
      hangUp.close();
    }
  },
);

rigTest(
  "more joins than free slots resize the backend with one reload; a deleted live file is written again without one",
  async ({ start, backends, backend }) => {
    const list = await backends("a", "b", "c", "d", "e", "f", "g");
    const port = freePort();
    const h = await start(route(port, [list[0].port]), [port]);
    await backend.apply(route(port, [list[0].port]), { reload: true });
    const slots = () =>
      [...Deno.readTextFileSync(backend.options.configurationFile).matchAll(/^\s+server p\d+/gm)]
        .length;
    strictEqual(slots(), 5, "1 member + 4 free (haproxy_free_slots)");
    const four = await backend.apply(route(port, list.slice(0, 5).map((b) => b.port)), {
      reload: true,
    });
    deepStrictEqual(four, { ...four, kind: "applied", reloaded: false }, "4 joins fit");
    const before = await h.pids();
    const more = await backend.apply(route(port, list.map((b) => b.port)), { reload: true });
    strictEqual(more.kind === "applied" && more.reloaded, true, JSON.stringify(more));
    strictEqual(slots(), 11, "7 members + max(4, 7/2) free");
    deepStrictEqual(new Set(await bodies(port, 21)), new Set(list.map((b) => b.name)));
    strictEqual((await h.pids()).master, before.master);
    // Deleted by hand: degraded until the next update writes it again, with no reload.
    const text = Deno.readTextFileSync(backend.options.configurationFile);
    await Deno.remove(backend.options.configurationFile);
    strictEqual(backend.drifted(), true);
    strictEqual(backend.health().level, "degraded");
    const pids = await h.pids();
    const again = await backend.apply(route(port, list.map((b) => b.port)), { reload: true });
    deepStrictEqual(again, { ...again, kind: "applied", reloaded: false }, JSON.stringify(again));
    strictEqual(Deno.readTextFileSync(backend.options.configurationFile), text);
    deepStrictEqual(await h.pids(), pids);
    strictEqual(backend.health().level, "ok");
  },
);

rigTest(
  "a TCP stream's first member joins without a reload; with none, connections are refused at once",
  async ({ start, backends, backend }) => {
    const [t] = await backends("t");
    const tcp = freePort();
    const base = snapshot([{ ports: [tcp], stream: [1] }]);
    const stream = (ports: number[]) => {
      const s = snapshot([{ ports: [tcp], stream: ports }]);
      const server = s.servers[0];
      return {
        ...s,
        servers: [{
          ...server,
          slug: base.servers[0].slug,
          streams: [{ ...server.streams[0], slug: base.servers[0].streams[0].slug }],
        }],
      };
    };
    const h = await start(stream([]), [tcp]);
    await backend.apply(stream([]), { reload: true });
    const pids = await h.pids();
    const refused = await httpGet(tcp, "/").then(() => "answered", (e) => String(e));
    ok(refused !== "answered", "no member: the connection is closed without an answer");
    const joined = await backend.apply(stream([t.port]), { reload: true });
    deepStrictEqual(joined, { ...joined, kind: "applied", reloaded: false });
    strictEqual((await httpGet(tcp, "/over-tcp")).body, "t");
    deepStrictEqual(await h.pids(), pids);
  },
);

rigTest(
  "started by someone else (three-process layout): /health fails while no HAProxy runs on the file, and once it is killed",
  async ({ start, backends, backend }) => {
    const [a] = await backends("a");
    const port = freePort();
    const before = backend.health();
    strictEqual(before.level, "failed", JSON.stringify(before));
    ok(
      before.lines.some((l) => l.startsWith("HAProxy is not running: no pid file")),
      before.lines[0],
    );
    const h = await start(route(port, [a.port]), [port]);
    deepStrictEqual(backend.health(), { level: "ok", lines: [] });
    Deno.kill(-h.pid, "SIGKILL");
    let after = backend.health();
    for (let i = 0; i < 200 && after.level === "ok"; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = backend.health();
    }
    strictEqual(after.level, "failed", "a killed HAProxy fails the check");
    ok(after.lines.some((l) => l.startsWith("HAProxy is not running: ")), after.lines.join("\n"));
  },
);

rigTest(
  "--supervise does not start a second HAProxy beside one already running the file (left by an aurproxy killed with SIGKILL)",
  async ({ start, backends, backend, metrics }) => {
    const [a] = await backends("a");
    const port = freePort();
    const running = await start(route(port, [a.port]), [port]);
    const next = new HaproxyBackend(backend.options, { logger: memoryLogger(), metrics });
    let refused: Error | undefined;
    await next.start().catch((e) => (refused = e));
    ok(refused?.message.includes(`an HAProxy (pid ${running.pid}, from `), String(refused));
    strictEqual(next.status(), undefined, "nothing started");
    deepStrictEqual(await bodies(port, 2), ["a", "a"], "the running one serves on");
  },
);
