import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { managementHandler, type ManagementOptions } from "../../lib/management/server.ts";
import { RouteRegistry } from "../../lib/management/routes.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import type { HealthCheckResult } from "../../lib/model/health.ts";

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
  const req = (method: string, path: string) =>
    h(new Request(`http://127.0.0.1${path}`, { method }));
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
  strictEqual(details, "DEGRADED\nzk 127.0.0.1:2181: disconnected for 12s\n");
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
