import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { managementHandler, type ManagementOptions } from "../../lib/management/server.ts";
import { RouteRegistry } from "../../lib/management/routes.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import type { HealthCheckResult } from "../../lib/model/health.ts";
import { contains, parseIp, parseNetwork } from "../../lib/management/ip_network.ts";
import {
  crossOriginRefusal,
  forwardedFor,
  lifecycleNetworks,
  lifecycleRefusal,
} from "../../lib/management/request_guard.ts";
import { OwnPortCheck } from "../../lib/management/own_port.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { buildSnapshot } from "../../lib/pipeline/snapshot_builder.ts";
import type { PoolMember } from "../../lib/model/pool_member.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { runOptions } from "../../lib/cli/run.ts";
import { parseFlags, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { UsageError } from "../../lib/errors.ts";
import { versionLine } from "../../lib/version.ts";

function handler(over: Partial<ManagementOptions> = {}) {
  const calls: string[] = [];
  const metrics = new MetricsRegistry("aurproxy");
  const h = managementHandler({
    hostname: "127.0.0.1",
    port: 0,
    logger: memoryLogger(),
    metrics,
    health: [],
    snapshot: () => undefined,
    shutdown: (reason, abort) => calls.push(`${reason}:${abort}`),
    ...over,
  });
  const req = (
    method: string,
    path: string,
    o: { peer?: string; headers?: Record<string, string> } = {},
  ) =>
    h(
      new Request(`http://127.0.0.1${path}`, { method, headers: o.headers }),
      o.peer ?? "127.0.0.1",
    );
  return { req, calls, metrics };
}

const probe = (r: HealthCheckResult) => () => r;

Deno.test("management: /health answers exactly OK when healthy (Aurora compares the body)", async () => {
  const res = await handler().req("GET", "/health");
  strictEqual(res.status, 200);
  strictEqual(await res.text(), "OK");
});

Deno.test("management: degraded health still answers OK, with the reason in a header and /health/details", async () => {
  const { req } = handler({
    health: [probe({ level: "degraded", lines: ["zk 127.0.0.1:2181: disconnected for 12s"] })],
  });
  const res = await req("GET", "/health");
  strictEqual(await res.text(), "OK");
  strictEqual(res.headers.get("x-aurproxy-health"), "degraded");
  strictEqual(
    res.headers.get("x-aurproxy-health-detail"),
    "zk 127.0.0.1:2181: disconnected for 12s",
  );
  const details = await (await req("GET", "/health/details")).text();
  strictEqual(
    details,
    `DEGRADED\nzk 127.0.0.1:2181: disconnected for 12s\nversion: ${versionLine()}\n`,
  );
});

Deno.test("management: failed health answers 200 with the original's failure text", async () => {
  const { req } = handler({ health: [probe({ level: "failed", lines: ["shutting down"] })] });
  const res = await req("GET", "/health");
  strictEqual(res.status, 200);
  strictEqual(await res.text(), "Health checks failed: shutting down");
});

Deno.test("management: POST /quitquitquit and /abortabortabort run shutdown once each; GET is refused", async () => {
  const { req, calls } = handler();
  strictEqual((await req("GET", "/quitquitquit")).status, 405);
  strictEqual(await (await req("POST", "/quitquitquit")).text(), "OK");
  strictEqual(await (await req("POST", "/abortabortabort")).text(), "OK");
  await new Promise((r) => setTimeout(r, 10));
  strictEqual(calls.join(","), "quitquitquit:false,abortabortabort:true");
});

Deno.test("management: /metrics is Prometheus text, /metrics.json a flat object", async () => {
  const { req, metrics } = handler();
  metrics.inc("reloads_total", "Reloads.");
  metrics.set("endpoints", "Endpoints.", 3, { upstream: "u", pool: "primary" });
  const res = await req("GET", "/metrics");
  strictEqual(res.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"), true);
  const body = await res.text();
  strictEqual(
    body.includes("# TYPE aurproxy_reloads_total counter\naurproxy_reloads_total 1\n"),
    true,
  );
  strictEqual(body.includes('aurproxy_endpoints{pool="primary",upstream="u"} 3'), true);
  // The original aurproxy's shape: dotted names, a counter without `_total`, labels as
  // `.key.value` (tests/unit/flat_names_test.ts has the rules and the original's names).
  const j = await (await req("GET", "/metrics.json")).json();
  strictEqual(j["aurproxy.reloads"], 1);
  strictEqual(j["aurproxy.endpoints.pool.primary.upstream.u"], 3);
});

Deno.test("management: /status.json is 503 before the first snapshot, then the snapshot", async () => {
  const current: { snap?: ProxySnapshot } = {};
  const { req } = handler({ snapshot: () => current.snap });
  strictEqual((await req("GET", "/status.json")).status, 503);
  current.snap = { context: {}, servers: [], builtAt: 1, adjustmentDelayed: false };
  const res = await req("GET", "/status.json");
  strictEqual(res.status, 200);
  strictEqual((await res.json()).builtAt, 1);
});

Deno.test("management: the status page shows resolved and left-out endpoints, escaping text from outside", async () => {
  const snap: ProxySnapshot = {
    context: {},
    builtAt: 1,
    adjustmentDelayed: false,
    servers: [{
      slug: "s",
      hosts: ["<script>x</script>"],
      ports: [80],
      context: {},
      streams: [],
      routes: [{
        slug: "u",
        locations: ["/"],
        emptyEndpointStatusCode: 503,
        failOpen: false,
        notes: [],
        skipped: [{
          host: "gone.example.com",
          port: 31000,
          pool: "primary",
          source: "aurora:r/e/j",
          reason: "cannot resolve: <ENOTFOUND>",
        }],
        endpoints: [{
          host: "agent1.example.com",
          address: "10.0.0.1",
          port: 80,
          weight: 1000,
          fraction: 1,
          share: 1,
          pool: "primary",
          source: "aurora:<b>r</b>/e/j",
          factors: [],
          audit: [],
        }],
      }],
    }],
  };
  const html = await (await handler({ snapshot: () => snap }).req("GET", "/status")).text();
  strictEqual(html.includes("<script>x"), false);
  strictEqual(html.includes("&lt;script&gt;x"), true);
  strictEqual(html.includes("aurora:&lt;b&gt;r"), true);
  strictEqual(html.includes("agent1.example.com:80 (10.0.0.1)"), true);
  strictEqual(html.includes("gone.example.com:31000"), true);
  strictEqual(html.includes("left out: cannot resolve: &lt;ENOTFOUND&gt;"), true);
});

Deno.test("management: unknown path is 404", async () => {
  strictEqual((await handler().req("GET", "/nope")).status, 404);
});

Deno.test("management: routes a feature mounted are served; exact paths win, then the longest prefix", async () => {
  const routes = new RouteRegistry();
  routes.add("api source", {
    method: ["GET", "PUT"],
    path: "/api/sources/*",
    handler: (req, url) => new Response(`${req.method} source ${url.pathname.slice(13)}`),
  });
  routes.add("api source", {
    method: "GET",
    path: "/api/sources/web/members/*",
    handler: () => new Response("members"),
  });
  routes.add("api source", {
    method: "GET",
    path: "/api/sources",
    handler: () => new Response("list"),
  });
  const { req } = handler({ routes });
  strictEqual(await (await req("GET", "/api/sources")).text(), "list");
  strictEqual(await (await req("GET", "/api/sources/web")).text(), "GET source web");
  strictEqual(await (await req("PUT", "/api/sources/db")).text(), "PUT source db");
  strictEqual(await (await req("GET", "/api/sources/web/members/1")).text(), "members");
  strictEqual((await req("DELETE", "/api/sources/web")).status, 404);
  strictEqual(await (await req("GET", "/health")).text(), "OK", "built-ins still there");
  deepStrictEqual(
    routes.routes().map((r) => `${r.owner}: ${r.method} ${r.path}`),
    [
      "api source: GET /api/sources",
      "api source: GET /api/sources/web/members/*",
      "api source: GET /api/sources/*",
      "api source: PUT /api/sources/*",
    ],
  );
});

Deno.test("management: a feature route that clashes with a built-in or another feature's fails the start", () => {
  const routes = new RouteRegistry();
  routes.add("mirror", { method: "GET", path: "/health", handler: () => new Response("x") });
  throws(() => handler({ routes }), /GET \/health is mounted twice: by health and by mirror/);
  const two = new RouteRegistry();
  two.add("a", { method: "POST", path: "/api/*", handler: () => new Response("a") });
  throws(
    () => two.add("b", { method: "post", path: "/api/*", handler: () => new Response("b") }),
    /POST \/api\/\* is mounted twice: by a and by b/,
  );
});

Deno.test("management: IP networks: IPv4, IPv6 and IPv4-mapped addresses; bad spellings refused", () => {
  const inNet = (net: string, addr: string) => contains(parseNetwork(net), parseIp(addr)!);
  strictEqual(inNet("127.0.0.0/8", "127.9.9.9"), true);
  strictEqual(inNet("127.0.0.0/8", "::ffff:127.0.0.1"), true, "a mapped peer is loopback");
  strictEqual(inNet("127.0.0.0/8", "128.0.0.1"), false);
  strictEqual(inNet("10.1.0.0/16", "10.1.255.1"), true);
  strictEqual(inNet("10.1.0.0/17", "10.1.128.1"), false);
  strictEqual(inNet("192.0.2.7", "192.0.2.7"), true, "a bare address is /32");
  strictEqual(inNet("192.0.2.7", "192.0.2.8"), false);
  strictEqual(inNet("0.0.0.0/0", "203.0.113.1"), true);
  strictEqual(inNet("0.0.0.0/0", "2001:db8::1"), false, "IPv4 /0 is not all of IPv6");
  strictEqual(inNet("::/0", "2001:db8::1"), true);
  strictEqual(inNet("2001:db8::/32", "2001:db8:ffff::1"), true);
  strictEqual(inNet("2001:db8::/32", "2001:db9::1"), false);
  strictEqual(inNet("::1", "[::1]"), true);
  strictEqual(inNet("fe80::/10", "fe80::1%eth0"), true);
  for (
    const bad of [
      "10.0.0.0/33",
      "::/129",
      "10.0.0/8",
      "0x7f.0.0.1",
      "010.0.0.1",
      "a.b.c.d",
      "1::2::3",
      "10.0.0.1/8/9",
      "",
      "10.0.0.0/x",
    ]
  ) {
    throws(() => parseNetwork(bad), /not an IP address|prefix length/, bad);
  }
  strictEqual(parseIp("localhost"), undefined);
  strictEqual(parseIp("256.0.0.1"), undefined);
});

Deno.test("management: lifecycle requests: loopback peers only by default, widened by networks; every forwarded-for address must be allowed", () => {
  const h = (o: Record<string, string> = {}) => new Headers(o);
  const loop = lifecycleNetworks([]);
  strictEqual(lifecycleRefusal(h(), "127.0.0.1", loop), undefined);
  strictEqual(lifecycleRefusal(h(), "::1", loop), undefined);
  strictEqual(lifecycleRefusal(h(), "::ffff:127.0.0.1", loop), undefined);
  const outside = lifecycleRefusal(h(), "192.0.2.7", loop);
  strictEqual(outside?.reason, "peer");
  strictEqual(
    outside?.message,
    "lifecycle requests are accepted from 127.0.0.0/8, ::1 only, not from 192.0.2.7; " +
      "allow more networks with --management-lifecycle-allow",
  );
  const wide = lifecycleNetworks([parseNetwork("192.0.2.0/24")]);
  strictEqual(lifecycleRefusal(h(), "192.0.2.7", wide), undefined);
  strictEqual(lifecycleRefusal(h(), "198.51.100.1", wide)?.reason, "peer");
  // Through a proxy on the host: nginx appends the client, so a spoofed entry is no help.
  strictEqual(
    lifecycleRefusal(h({ "x-forwarded-for": "127.0.0.1, 203.0.113.9" }), "127.0.0.1", loop)
      ?.reason,
    "proxied",
  );
  strictEqual(
    lifecycleRefusal(h({ "x-forwarded-for": "127.0.0.1" }), "127.0.0.1", loop),
    undefined,
  );
  strictEqual(
    lifecycleRefusal(h({ "x-real-ip": "203.0.113.9" }), "127.0.0.1", loop)?.reason,
    "proxied",
  );
  strictEqual(
    lifecycleRefusal(h({ "x-forwarded-for": "garbage" }), "127.0.0.1", loop)?.reason,
    "proxied",
  );
  strictEqual(
    lifecycleRefusal(h({ "x-forwarded-for": "192.0.2.9" }), "127.0.0.1", wide),
    undefined,
  );
  // A browser page, even of the same origin (a name rebound to 127.0.0.1): never.
  strictEqual(
    lifecycleRefusal(h({ origin: "http://rebound.example:31325" }), "127.0.0.1", loop)?.reason,
    "origin",
  );
  deepStrictEqual(
    forwardedFor(
      h({
        forwarded:
          'for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::17]:4711", for=unknown',
      }),
    ),
    ["192.0.2.60", "2001:db8::17", "unknown"],
  );
  deepStrictEqual(forwardedFor(h({ forwarded: "For=198.51.100.1:8080" })), ["198.51.100.1"]);
});

Deno.test("management: a foreign Origin or a cross-site fetch is refused; same-origin and no Origin are not", () => {
  const refusal = (o: Record<string, string>) => crossOriginRefusal(new Headers(o))?.reason;
  strictEqual(refusal({ host: "127.0.0.1:31325" }), undefined, "Aurora's executor, curl");
  strictEqual(refusal({ host: "127.0.0.1:31325", origin: "http://127.0.0.1:31325" }), undefined);
  strictEqual(refusal({ host: "Agent1:31325", origin: "http://agent1:31325" }), undefined);
  strictEqual(refusal({ host: "127.0.0.1:31325", "sec-fetch-site": "same-origin" }), undefined);
  strictEqual(refusal({ host: "127.0.0.1:31325", "sec-fetch-site": "none" }), undefined);
  strictEqual(refusal({ host: "127.0.0.1:31325", origin: "http://evil.example" }), "origin");
  strictEqual(refusal({ host: "127.0.0.1:31325", origin: "null" }), "origin");
  strictEqual(refusal({ host: "127.0.0.1:31325", origin: "https://127.0.0.1:31325" }), "origin");
  strictEqual(refusal({ host: "127.0.0.1:31325", origin: "http://127.0.0.1:31326" }), "origin");
  strictEqual(refusal({ origin: "http://127.0.0.1:31325" }), "origin", "no Host to compare with");
  strictEqual(refusal({ host: "127.0.0.1:31325", "sec-fetch-site": "cross-site" }), "origin");
  strictEqual(refusal({ host: "127.0.0.1:31325", "sec-fetch-site": "same-site" }), "origin");
});

Deno.test("management: a refused lifecycle POST answers 403, shuts nothing down, is counted, and logged at most once per 10 s", async () => {
  const clock = new FakeClock();
  const logger = memoryLogger();
  const { req, calls, metrics } = handler({ clock, logger });
  const far = await req("POST", "/quitquitquit", { peer: "192.0.2.7" });
  strictEqual(far.status, 403);
  strictEqual((await far.text()).includes("--management-lifecycle-allow"), true);
  strictEqual((await req("POST", "/abortabortabort", { peer: "192.0.2.7" })).status, 403);
  const form = await req("POST", "/quitquitquit", {
    headers: { origin: "http://evil.example", "content-type": "application/x-www-form-urlencoded" },
  });
  strictEqual(form.status, 403);
  strictEqual(
    (await req("GET", "/metrics", { headers: { origin: "http://evil.example" } })).status,
    403,
  );
  await clock.advance(10_000);
  strictEqual((await req("POST", "/quitquitquit", { peer: "192.0.2.8" })).status, 403);
  await new Promise((r) => setTimeout(r, 10));
  deepStrictEqual(calls, [], "nothing shut down");
  strictEqual(metrics.get("management_requests_refused_total", { reason: "peer" }), 3);
  strictEqual(metrics.get("management_requests_refused_total", { reason: "origin" }), 2);
  const warned = logger.lines.filter((l) => l.includes("WARN"));
  strictEqual(warned.length, 2, warned.join("\n"));
  strictEqual(warned[0].includes("refused POST /quitquitquit from 192.0.2.7"), true, warned[0]);
  strictEqual(warned[1].includes("(3 more refused since the last line)"), true, warned[1]);
  // Allowed: loopback, no Origin (Aurora's executor).
  strictEqual(await (await req("POST", "/quitquitquit")).text(), "OK");
  await new Promise((r) => setTimeout(r, 10));
  deepStrictEqual(calls, ["quitquitquit:false"]);
});

Deno.test("management: own port: bound to all addresses, loopback, 0.0.0.0 and this host's addresses at the management port are aurproxy itself", () => {
  const logger = memoryLogger();
  const own = new OwnPortCheck({
    hostname: "0.0.0.0",
    port: () => 31325,
    localAddresses: ["127.0.0.1", "10.1.2.3", "fd00::2"],
    logger,
  });
  for (
    const a of [
      "127.0.0.1",
      "127.0.0.2",
      "0.0.0.0",
      "::1",
      "::ffff:127.0.0.1",
      "::",
      "10.1.2.3",
      "fd00::2",
    ]
  ) {
    strictEqual(typeof own.reason(a, 31325), "string", a);
  }
  strictEqual(own.reason("10.1.2.4", 31325), undefined, "another host");
  strictEqual(own.reason("127.0.0.1", 31326), undefined, "another port");
  strictEqual(own.reason("agent1.example.com", 31325), undefined, "not an address");
  own.reason("127.0.0.1", 31325);
  const warned = logger.lines.filter((l) => l.includes("left out endpoint 127.0.0.1:31325"));
  strictEqual(warned.length, 1, "logged once per address");
  const bound = new OwnPortCheck({
    hostname: "127.0.0.1",
    port: () => 31325,
    localAddresses: ["10.1.2.3"],
    logger,
  });
  strictEqual(typeof bound.reason("127.0.0.1", 31325), "string");
  strictEqual(typeof bound.reason("0.0.0.0", 31325), "string");
  strictEqual(bound.reason("10.1.2.3", 31325), undefined, "not listening there");
  const unknown = new OwnPortCheck({
    hostname: "0.0.0.0",
    port: () => 0,
    localAddresses: [],
    logger,
  });
  strictEqual(unknown.reason("127.0.0.1", 0), undefined, "no port yet");
});

Deno.test("management: own port: the snapshot leaves such a member out, listed as skipped with its cause", () => {
  const config = parseConfig({
    backend: "nginx",
    servers: [{
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 1 }],
      }],
    }],
  });
  const member = (host: string, port: number): PoolMember => ({
    endpoint: { host, port, ports: { default: port } },
    source: "zk",
    factors: [],
  });
  const own = new OwnPortCheck({
    hostname: "0.0.0.0",
    port: () => 31325,
    localAddresses: [],
    logger: memoryLogger(),
  });
  const snap = buildSnapshot(
    config,
    () => ({ primary: [member("localhost", 31325), member("127.0.0.1", 9001)], overflow: [] }),
    {
      adjust: true,
      now: 1,
      addressOf: (h) => ({ address: h === "localhost" ? "127.0.0.1" : h }),
      leaveOut: (a, p) => own.reason(a, p),
    },
  );
  const u = snap.servers[0].routes[0];
  deepStrictEqual(u.endpoints.map((e) => `${e.host}:${e.port}`), ["127.0.0.1:9001"]);
  strictEqual(u.skipped.length, 1);
  strictEqual(u.skipped[0].host, "localhost");
  strictEqual(u.skipped[0].cause, "management_port");
  strictEqual(u.skipped[0].reason, "points at aurproxy's own management port (127.0.0.1:31325)");
});

Deno.test("management: --management-lifecycle-allow takes comma-separated, repeatable networks and names the flag on a bad one", () => {
  const opts = (...extra: string[]) =>
    runOptions(parseFlags(["--management-port=31325", "--config=/x.json", ...extra], RUN_FLAGS));
  deepStrictEqual(opts().lifecycleAllow, []);
  deepStrictEqual(
    opts(
      "--management-lifecycle-allow=10.0.0.0/8, 192.0.2.7",
      "--management_lifecycle_allow=fd00::/8",
    )
      .lifecycleAllow.map((n) => n.text),
    ["10.0.0.0/8", "192.0.2.7", "fd00::/8"],
  );
  throws(
    () => opts("--management-lifecycle-allow=10.0.0.0/33"),
    (err: Error) =>
      err instanceof UsageError && err.message.includes("--management-lifecycle-allow") &&
      err.message.includes("prefix length"),
  );
  throws(() => opts("--management-lifecycle-allow=localhost"), UsageError);
});
