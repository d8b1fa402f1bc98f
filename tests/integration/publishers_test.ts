/**
 * The publishers against local receivers speaking the real wire formats (Librato's API
 * with basic auth and JSON, OpenTSDB's `put` port, a StatsD socket): the original's names
 * arrive, every period; a receiver failing, refusing or hanging is counted and retried,
 * and the shutdown flush is bounded.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { createPublisher, publisherConfig } from "../../lib/metrics/publishers/classes.ts";
import { PublishLoop } from "../../lib/metrics/publishers/publisher.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import {
  startLibratoReceiver,
  startOpenTsdbReceiver,
  startStatsdReceiver,
} from "../../testing/receivers.ts";

const ENV = { hostname: "test-host", pid: 4242, userAgent: "aurproxy/test" };

/** A registry as `run` fills it: the applier's counters and nginx's stub_status. */
function filled(): MetricsRegistry {
  const m = new MetricsRegistry("aurproxy");
  m.inc("update_attempts_total", "a", {}, 3);
  m.inc("update_successes_total", "s", {}, 3);
  m.declareCounter("update_unchanged_total", "u");
  m.declareCounter("update_failures_total", "f");
  m.set("nginx_connections", "c", 2, { state: "active" });
  m.setCounter("nginx_requests_total", "r", 31);
  m.set("endpoints_live", "e", 2, { upstream: "s_web_80_r0", pool: "primary" });
  return m;
}

function loopFor(className: string, args: string[], metrics: MetricsRegistry, timeoutMs = 1000) {
  const logger = memoryLogger();
  const publisher = createPublisher(publisherConfig(className, args)!, ENV);
  const loop = new PublishLoop({ publisher, metrics, clock: systemClock, logger, timeoutMs });
  const count = (result: string) =>
    metrics.get("metric_publishes_total", { publisher: publisher.name, result });
  return { loop, logger, count };
}

Deno.test("librato: authenticated POSTs of the original's names every period; 500s and a hang are counted and retried", async () => {
  const librato = startLibratoReceiver("ops@example.com", "t0ken");
  const metrics = filled();
  const { loop, logger, count } = loopFor(
    "tellapart.aurproxy.metrics.publisher.LibratoMetricPublisher",
    [
      "api_user=ops@example.com",
      "api_token=t0ken",
      "source=devel.web",
      "period=0.2",
      `api_url=${librato.url}`,
    ],
    metrics,
    300,
  );
  try {
    loop.start();
    await waitFor("two publishes", () => librato.posts.length >= 2);
    deepStrictEqual(librato.rejected, []);
    const post = librato.posts[0];
    const counter = post.counters.find((c) => c.name === "aurproxy.update_attempted");
    deepStrictEqual(counter, {
      name: "aurproxy.update_attempted",
      value: 3,
      type: "counter",
      source: "devel.web",
      period: 0.2,
      attributes: { aggregate: true },
    });
    strictEqual(post.gauges.find((g) => g.name === "aurproxy.proxy.active_connections")?.value, 2);
    strictEqual(post.counters.find((g) => g.name === "aurproxy.proxy.total_requests")?.value, 31);
    strictEqual(
      post.gauges.some((g) =>
        g.name === "aurproxy.endpoints_live.pool.primary.upstream.s_web_80_r0"
      ),
      true,
    );
    strictEqual(librato.userAgents[0], "aurproxy/test");

    librato.mode = "fail";
    await waitFor("a failed publish", () => count("failed") >= 1);
    strictEqual(logger.lines.some((l) => l.includes("HTTP 500")), true, logger.lines.join("\n"));
    librato.mode = "hang";
    const failedBefore = count("failed");
    await waitFor("a publish cut at its deadline", () => count("failed") > failedBefore);
    strictEqual(logger.lines.some((l) => l.includes("timed out after 300 ms")), true);
    librato.mode = "ok";
    const posts = librato.posts.length;
    await waitFor("publishing again", () => librato.posts.length > posts, 5000);
    // Shutdown: bounded even while the receiver hangs.
    librato.mode = "hang";
    const t0 = performance.now();
    await loop.flush(300);
    strictEqual(performance.now() - t0 < 2000, true);
  } finally {
    loop.stop();
    await librato.close();
  }
});

Deno.test("librato: a wrong token is refused by the receiver and counted as a failure", async () => {
  const librato = startLibratoReceiver("ops@example.com", "right");
  const metrics = filled();
  const { loop, count } = loopFor("LibratoMetricPublisher", [
    "api_user=ops@example.com",
    "api_token=wrong",
    "source=s",
    `api_url=${librato.url}`,
  ], metrics);
  try {
    strictEqual(await loop.publishNow(), false);
    strictEqual(count("failed"), 1);
    deepStrictEqual(librato.rejected, ["authorization"]);
  } finally {
    await librato.close();
  }
});

Deno.test("opentsdb: one connection per period carrying the original's put lines; refused is counted", async () => {
  const tsdb = startOpenTsdbReceiver();
  const metrics = filled();
  const { loop, count } = loopFor("tellapart.aurproxy.metrics.publisher.OpenTSDBMetricPublisher", [
    "prefix=apps.",
    "host=127.0.0.1",
    `port=${tsdb.port}`,
    "source=devel.web.",
    "period=0.2",
  ], metrics);
  try {
    loop.start();
    await waitFor("two connections", () => tsdb.connections.length >= 2);
    deepStrictEqual(tsdb.bad, []);
    const puts = tsdb.connections[0];
    const attempted = puts.find((p) => p.metric === "apps.devel.web.aurproxy.update_attempted")!;
    strictEqual(attempted.value, 3);
    deepStrictEqual(attempted.tags, { host: "test-host", pid: "4242" });
    strictEqual(Math.abs(attempted.timestamp - Date.now() / 1000) < 10, true);
    strictEqual(
      puts.some((p) => p.metric === "apps.devel.web.aurproxy.proxy.active_connections"),
      true,
    );
    strictEqual(puts.length, new Set(puts.map((p) => p.metric)).size, "each metric once a period");
  } finally {
    loop.stop();
    tsdb.close();
  }
  // Nothing listening any more: refused, counted, never thrown.
  strictEqual(await loop.publishNow(), false);
  strictEqual(count("failed"), 1);
});

Deno.test("opentsdb: a server that accepts and never reads is cut at the deadline", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const c of silent) held.push(c);
  })().catch(() => {});
  const metrics = filled();
  // Enough lines to fill the socket buffers of a peer that never reads.
  for (let i = 0; i < 150_000; i++) metrics.set("filler", "f", i, { n: String(i) });
  const { loop, count } = loopFor(
    "OpenTSDBMetricPublisher",
    [
      "prefix=",
      "host=127.0.0.1",
      `port=${(silent.addr as Deno.NetAddr).port}`,
      "source=",
    ],
    metrics,
    500,
  );
  try {
    const t0 = performance.now();
    strictEqual(await loop.publishNow(), false);
    strictEqual(performance.now() - t0 < 3000, true);
    strictEqual(count("failed"), 1);
  } finally {
    silent.close();
    for (const c of held) c.close();
  }
});

Deno.test("statsd: datagrams with the original's names, counters as increases, DogStatsD tags", async () => {
  const statsd = await startStatsdReceiver();
  const metrics = filled();
  const { loop, count } = loopFor("StatsdMetricPublisher", [
    `port=${statsd.port}`,
    "tags=env:test,role:web",
    "period=0.2",
  ], metrics);
  try {
    loop.start();
    await waitFor("a publish", () => count("ok") >= 1);
    await waitFor(
      "its datagrams",
      () => statsd.lines.some((l) => l.name === "aurproxy.update_attempted"),
    );
    metrics.inc("update_attempts_total", "a", {}, 2);
    await waitFor(
      "the increase",
      () => statsd.lines.some((l) => l.name === "aurproxy.update_attempted" && l.value === 2),
    );
    deepStrictEqual(statsd.bad, []);
    const first = statsd.lines.find((l) => l.name === "aurproxy.update_attempted")!;
    deepStrictEqual(first, {
      name: "aurproxy.update_attempted",
      value: 3,
      type: "c",
      tags: ["env:test", "role:web"],
    });
    const active = statsd.lines.find((l) => l.name === "aurproxy.proxy.active_connections")!;
    strictEqual(active.type, "g");
    strictEqual(active.value, 2);
    strictEqual(statsd.datagrams.every((d) => new TextEncoder().encode(d).length <= 1432), true);
  } finally {
    loop.stop();
    await loop.flush(300);
    await statsd.close();
  }
  // No receiver: UDP does not know; publishing still goes on (and to an unknown host fails).
  const nowhere = loopFor("StatsdMetricPublisher", [
    `port=${freePort()}`,
    "host=no-such-host.invalid",
  ], filled());
  strictEqual(await nowhere.loop.publishNow(), false);
  nowhere.loop.stop();
  await nowhere.loop.flush(100);
});
