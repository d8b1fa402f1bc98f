import { strictEqual } from "node:assert";
import { managementHandler, type ManagementOptions } from "../../lib/management/server.ts";
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
  const j = await (await req("GET", "/metrics.json")).json();
  strictEqual(j["aurproxy_reloads_total"], 1);
  strictEqual(j["aurproxy_endpoints{pool=primary,upstream=u}"], 3);
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
