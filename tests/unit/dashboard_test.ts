import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { reloadsOf, timelineOf } from "../../lib/management/dashboard/events.ts";
import { duration, esc } from "../../lib/management/dashboard/html.ts";
import {
  buildDashboardModel,
  type DashboardFeed,
  factorKey,
} from "../../lib/management/dashboard/model.ts";
import { renderDashboard } from "../../lib/management/dashboard/page.ts";
import { managementHandler } from "../../lib/management/server.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot, WeightedEndpoint } from "../../lib/model/snapshot.ts";
import type { ShareFactor } from "../../lib/model/share.ts";
import type { ChangeLogEntry } from "../../lib/observability/change_log.ts";
import { oneRouteSnapshot } from "../../testing/snapshots.ts";

const NOW = 1_700_000_000_000;
const HOSTILE = `<img src=x onerror="alert(1)">`;

function ep(over: Partial<WeightedEndpoint>): WeightedEndpoint {
  return {
    host: "10.0.0.1",
    address: "10.0.0.1",
    port: 80,
    weight: 1000,
    fraction: 0.5,
    share: 1,
    pool: "primary",
    source: "aurora:r/e/j",
    factors: [],
    audit: [],
    ...over,
  };
}

function snap(endpoints: WeightedEndpoint[]): ProxySnapshot {
  return oneRouteSnapshot({ endpoints, builtAt: NOW - 10_000 });
}

const entry = (seq: number, over: Partial<ChangeLogEntry>): ChangeLogEntry => ({
  seq,
  at: NOW - 1000 * (10 - seq),
  upstreams: [],
  upstreamCount: 0,
  apply: { kind: "applied", reloaded: true, durationMs: 12 },
  ...over,
});

Deno.test("dashboard model: bars against the largest weight, pools named as nginx runs them", () => {
  const m = buildDashboardModel({
    snapshot: snap([
      ep({ port: 1, weight: 1000 }),
      ep({ port: 2, weight: 250 }),
      ep({ port: 3, weight: 500, pool: "overflow" }),
      ep({ port: 4, weight: 0, share: 1, pool: "overflow" }),
      ep({ port: 5, weight: 0, share: 0, pool: "overflow" }),
    ]),
    health: { level: "ok", lines: [] },
    version: "9.9.9",
    now: NOW,
  });
  const rows = m.servers[0].upstreams[0].endpoints;
  deepStrictEqual(rows.map((r) => r.barPct), [100, 25, 50, 0, 0]);
  deepStrictEqual(rows.map((r) => r.pool), ["primary", "primary", "overflow", "standby", "off"]);
  strictEqual(m.version, "9.9.9");
});

Deno.test("dashboard model: live factors win over the snapshot's: last check and its time, delay countdown, ramp", () => {
  const stale = [{ name: "health", share: 1, detail: "healthy", state: { status: "healthy" } }];
  const feed: DashboardFeed = {
    startedAt: NOW - 60_000,
    version: "1",
    changes: () => [],
    sources: () => [],
    liveFactors: () =>
      new Map<string, readonly ShareFactor[]>([[
        factorKey("u", "primary", "aurora:r/e/j", "10.0.0.1", 80),
        [
          {
            name: "health",
            share: 0,
            detail: "unhealthy (1 failure: status 503)",
            state: {
              status: "unhealthy",
              lastResult: "failure",
              lastReason: "status 503",
              lastCheckAt: NOW - 2000,
            },
          },
          {
            name: "delay",
            share: 0,
            detail: "waiting 1/5s",
            state: { waiting: true, remainingSeconds: 4 },
          },
          {
            name: "ramp",
            share: 0.5,
            detail: "ramping",
            state: { progress: 0.5, phase: "ramping" },
          },
        ],
      ]]),
  };
  const m = buildDashboardModel({
    snapshot: snap([ep({ factors: stale }), ep({ port: 81, factors: stale })]),
    health: { level: "ok", lines: [] },
    feed,
    version: "x",
    now: NOW,
  });
  const [live, fromSnap] = m.servers[0].upstreams[0].endpoints;
  deepStrictEqual(live.health, {
    status: "unhealthy",
    detail: "unhealthy (1 failure: status 503)",
    lastResult: "failure",
    lastReason: "status 503",
    lastCheckAt: NOW - 2000,
  });
  strictEqual(live.delayUntil, NOW + 4000);
  deepStrictEqual(live.ramp, { progress: 0.5, detail: "ramping" });
  strictEqual(fromSnap.health?.status, "healthy", "no live factors: the snapshot's");
  strictEqual(m.startedAt, NOW - 60_000);
});

Deno.test("dashboard events: joins, leaves, health as weight to and from 0, refused configs; newest first, bounded", () => {
  const entries = [
    entry(1, {
      upstreams: [{
        upstream: "u",
        joined: [{ endpoint: "10.0.0.1:80", pool: "primary" }],
        joinedCount: 1,
        left: [{ endpoint: "10.0.0.9:80", pool: "overflow" }],
        leftCount: 3,
        reweighted: [
          { endpoint: "10.0.0.2:80", pool: "primary", from: 1000, to: 0 },
          { endpoint: "10.0.0.3:80", pool: "primary", from: 0, to: 1000 },
          { endpoint: "10.0.0.4:80", pool: "primary", from: 1000, to: 500 },
        ],
        reweightedCount: 3,
      }],
      upstreamCount: 1,
    }),
    entry(2, { apply: { kind: "unchanged" } }),
    entry(3, { apply: { kind: "invalid", error: "nginx -t: bad" } }),
  ];
  const t = timelineOf(entries, 30);
  deepStrictEqual(t.map((e) => [e.kind, e.text]), [
    ["invalid", "config refused by the proxy: nginx -t: bad"],
    ["join", "10.0.0.1:80 joined"],
    ["leave", "10.0.0.9:80 [overflow] left"],
    ["more", "2 more left"],
    ["out", "10.0.0.2:80 weight 1000→0: out of rotation"],
    ["in", "10.0.0.3:80 weight 0→1000: back in rotation"],
    ["weight", "10.0.0.4:80 weight 1000→500"],
  ]);
  strictEqual(timelineOf(entries, 2).length, 2);
  deepStrictEqual(
    reloadsOf(entries, 10).map((r) => [r.seq, r.result, r.durationMs]),
    [[3, "invalid", undefined], [1, "applied", 12]],
    "unchanged updates are not reloads",
  );
});

Deno.test("dashboard page: text from outside is escaped everywhere, the page is whole without script", () => {
  const m = buildDashboardModel({
    snapshot: snap([
      ep({ host: HOSTILE, address: HOSTILE, source: HOSTILE, audit: [HOSTILE], weight: 1000 }),
      ep({ port: 81, weight: 500 }),
    ]),
    health: { level: "degraded", lines: [HOSTILE] },
    version: HOSTILE,
    now: NOW,
    feed: {
      startedAt: NOW - 5000,
      version: HOSTILE,
      changes: () => [entry(1, { apply: { kind: "error", error: HOSTILE } })],
      sources: () => [{
        name: HOSTILE,
        status: { healthy: false, detail: HOSTILE },
        registry: {
          connectString: HOSTILE,
          zkPath: "/x",
          session: "connected",
          sessionSince: NOW - 1000,
          servedFrom: "the state file",
          savedAt: NOW - 30_000,
        },
      }],
      proxy: () => ({ backend: "nginx", state: "restarting", restarts: 2, detail: HOSTILE }),
    },
  });
  const html = renderDashboard(m, NOW, '"t"');
  strictEqual(html.includes("<img"), false, "no markup from outside");
  ok(html.includes(esc(HOSTILE)));
  // The static table: each endpoint row with its weight and bar width, ages as text.
  ok(html.includes(`data-weight="1000"`) && html.includes(`style="width:100.000%"`));
  ok(html.includes(`data-weight="500"`) && html.includes(`style="width:50.000%"`));
  ok(html.includes(">10 s ago</time>"), "snapshot age rendered by the server");
  ok(html.includes("the state file (saved <time"), "served from the state file");
  ok(html.includes("apply failed: &lt;img"), "the failed apply in the timeline");
  ok(
    html.includes(`nginx: <b class="proc p-restarting">restarting</b> · 2 restart(s) · &lt;img`),
    "the supervised proxy's state and restarts",
  );
});

Deno.test("dashboard page: no proxy line when aurproxy does not run the proxy itself", () => {
  const feed: DashboardFeed = {
    startedAt: NOW,
    version: "1",
    changes: () => [],
    sources: () => [],
    proxy: () => undefined,
  };
  const m = buildDashboardModel({
    health: { level: "ok", lines: [] },
    version: "1",
    now: NOW,
    feed,
  });
  strictEqual(m.proxy, undefined);
  strictEqual(renderDashboard(m, NOW, '"t"').includes(`class="proxy"`), false);
});

Deno.test("dashboard html: durations in words", () => {
  deepStrictEqual([0, 59_400, 185_000, 7_260_000, 90_000_000].map(duration), [
    "0 s",
    "59 s",
    "3 min 5 s",
    "2 h 1 min",
    "1 d 1 h",
  ]);
});

Deno.test("dashboard routes: /status/live answers 304 to its ETag until the state changes; /status.json keeps the snapshot and adds the dashboard's data", async () => {
  let current = snap([ep({})]);
  const h = managementHandler({
    hostname: "127.0.0.1",
    port: 0,
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
    health: [],
    snapshot: () => current,
    shutdown: () => {},
    dashboard: {
      startedAt: Date.now() - 3000,
      version: "1.2.3",
      changes: () => [],
      sources: () => [{ name: "static.web", status: { healthy: true, detail: "static" } }],
    },
  });
  const get = (path: string, headers: Record<string, string> = {}) =>
    h(new Request(`http://127.0.0.1${path}`, { headers }), "127.0.0.1");
  const first = await get("/status/live");
  strictEqual(first.status, 200);
  const tag = first.headers.get("etag")!;
  ok((await first.text()).startsWith(`<div id="live"`));
  strictEqual((await get("/status/live", { "if-none-match": tag })).status, 304);
  current = snap([ep({ weight: 500 })]);
  strictEqual((await get("/status/live", { "if-none-match": tag })).status, 200);
  const page = await (await get("/status")).text();
  ok(page.includes(`data-etag="`) && page.includes("version 1.2.3"));
  const j = await (await get("/status.json")).json();
  strictEqual(j.servers[0].routes[0].endpoints[0].weight, 500, "the snapshot's fields stay");
  strictEqual(j.builtAt, current.builtAt);
  strictEqual(j.version, "1.2.3");
  ok(j.uptimeSeconds >= 3);
  deepStrictEqual(j.sources, [{ name: "static.web", healthy: true, detail: "static" }]);
  deepStrictEqual([j.reloads, j.events], [[], []]);
});
