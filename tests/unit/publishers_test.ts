import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { UsageError } from "../../lib/errors.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { FlatMetric } from "../../lib/metrics/flat_names.ts";
import { createPublisher, publisherConfig } from "../../lib/metrics/publishers/classes.ts";
import { LIBRATO_CHUNK, libratoBodies } from "../../lib/metrics/publishers/librato.ts";
import { openTsdbLines } from "../../lib/metrics/publishers/opentsdb.ts";
import { type MetricPublisher, PublishLoop } from "../../lib/metrics/publishers/publisher.ts";
import { packDatagrams, statsdLines } from "../../lib/metrics/publishers/statsd.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const M: FlatMetric[] = [
  { name: "aurproxy.proxy.active_connections", type: "gauge", value: 3 },
  { name: "aurproxy.update_attempted", type: "counter", value: 7 },
];

const usage = (msg: string) => (e: unknown) => e instanceof UsageError && e.message === msg;

Deno.test("publisher classes: the original's paths and short names, with their arguments", () => {
  deepStrictEqual(
    publisherConfig("tellapart.aurproxy.metrics.publisher.LibratoMetricPublisher", [
      "source=devel.web",
      "period=30",
      "api_user=ops@example.com",
      "api_token=t0k=en",
    ]),
    {
      kind: "librato",
      apiUser: "ops@example.com",
      apiToken: "t0k=en",
      source: "devel.web",
      periodSeconds: 30,
      apiUrl: undefined,
    },
  );
  deepStrictEqual(
    publisherConfig("OpenTSDBMetricPublisher", [
      "source=devel.web.",
      "prefix=apps.",
      "host=localhost",
      "port=4242",
    ]),
    {
      kind: "opentsdb",
      prefix: "apps.",
      host: "localhost",
      port: 4242,
      source: "devel.web.",
      periodSeconds: 60,
    },
  );
  deepStrictEqual(publisherConfig("StatsdMetricPublisher", ["tags=env:prod, role:web"]), {
    kind: "statsd",
    host: "127.0.0.1",
    port: 8125,
    prefix: "",
    tags: ["env:prod", "role:web"],
    periodSeconds: 60,
  });
  strictEqual(publisherConfig(undefined, []), undefined);
});

Deno.test("publisher classes: every mistake is a usage error naming the flag", () => {
  throws(
    () => publisherConfig(undefined, ["period=60"]),
    usage("--metric-publisher-arg: given without --metric-publisher-class"),
  );
  throws(
    () => publisherConfig("LibratoMetricPublisherr", []),
    (e: unknown) =>
      e instanceof UsageError && e.path === "--metric-publisher-class" &&
      e.message.includes("did you mean LibratoMetricPublisher?"),
  );
  throws(
    () => publisherConfig("LibratoMetricPublisher", ["source=x"]),
    usage("--metric-publisher-arg: LibratoMetricPublisher needs api_user, api_token"),
  );
  throws(
    () => publisherConfig("StatsdMetricPublisher", ["hots=x"]),
    usage(
      "--metric-publisher-arg: StatsdMetricPublisher takes host, port, prefix, tags, period; not hots",
    ),
  );
  throws(
    () => publisherConfig("StatsdMetricPublisher", ["period=0"]),
    usage('--metric-publisher-arg: period: expected seconds above 0, got "0"'),
  );
  throws(
    () => publisherConfig("StatsdMetricPublisher", ["port=http"]),
    usage('--metric-publisher-arg: port: expected 1-65535, got "http"'),
  );
  throws(
    () => publisherConfig("StatsdMetricPublisher", ["novalue"]),
    usage('--metric-publisher-arg: expected key=value, got "novalue"'),
  );
  throws(
    () =>
      publisherConfig("LibratoMetricPublisher", [
        "source=x",
        "api_user=u",
        "api_token=t",
        "api_url=ftp://x",
      ]),
    usage('--metric-publisher-arg: api_url: expected an http(s) URL, got "ftp://x"'),
  );
});

Deno.test("librato: the original client's body: gauges and counters with source, period, aggregation", () => {
  deepStrictEqual(libratoBodies(M, "devel.web", 60), [{
    gauges: [{
      name: "aurproxy.proxy.active_connections",
      value: 3,
      type: "gauge",
      source: "devel.web",
      period: 60,
      attributes: { aggregate: true },
    }],
    counters: [{
      name: "aurproxy.update_attempted",
      value: 7,
      type: "counter",
      source: "devel.web",
      period: 60,
      attributes: { aggregate: true },
    }],
  }]);
  const many = Array.from(
    { length: LIBRATO_CHUNK + 5 },
    (_, i): FlatMetric => ({ name: `m${i}`, type: "gauge", value: i }),
  );
  deepStrictEqual(libratoBodies(many, "s", 60).map((b) => b.gauges.length), [LIBRATO_CHUNK, 5]);
  deepStrictEqual(libratoBodies([{ name: "x", type: "gauge", value: NaN }], "s", 60), []);
});

Deno.test("opentsdb: the original's put lines", () => {
  strictEqual(
    openTsdbLines(M, 1_700_000_000_999, {
      prefix: "apps.",
      source: "devel.web.",
      hostname: "h1",
      pid: 42,
    }),
    "put apps.devel.web.aurproxy.proxy.active_connections 1700000000 3.000000 host=h1 pid=42\n" +
      "put apps.devel.web.aurproxy.update_attempted 1700000000 7.000000 host=h1 pid=42\n",
  );
});

Deno.test("statsd: gauges as values, counters as increases, DogStatsD tags, packed datagrams", () => {
  const last = new Map<string, number>();
  deepStrictEqual(statsdLines(M, last, "apps.", []), [
    "apps.aurproxy.proxy.active_connections:3|g",
    "apps.aurproxy.update_attempted:7|c",
  ]);
  const next: FlatMetric[] = [
    { name: "aurproxy.update_attempted", type: "counter", value: 9 },
    { name: "aurproxy.offset", type: "gauge", value: -2 },
  ];
  deepStrictEqual(statsdLines(next, last, "", ["env:prod"]), [
    "aurproxy.update_attempted:2|c|#env:prod",
    "aurproxy.offset:0|g|#env:prod",
    "aurproxy.offset:-2|g|#env:prod",
  ]);
  // A counter that went down (its owner restarted) sends its whole value.
  deepStrictEqual(
    statsdLines([{ name: "aurproxy.update_attempted", type: "counter", value: 1 }], last, "", []),
    [
      "aurproxy.update_attempted:1|c",
    ],
  );
  const lines = Array.from({ length: 100 }, (_, i) => `aurproxy.metric_number_${i}:1|g`);
  const packets = packDatagrams(lines, 200);
  strictEqual(packets.every((p) => p.length <= 200), true);
  deepStrictEqual(packets.join("\n").split("\n"), lines);
});

Deno.test("createPublisher: names and periods", () => {
  const env = { hostname: "h", pid: 1, userAgent: "aurproxy/test" };
  const p = createPublisher(publisherConfig("StatsdMetricPublisher", ["period=5"])!, env);
  strictEqual(p.name, "statsd");
  strictEqual(p.periodSeconds, 5);
  p.close?.();
});

function fakePublisher(): MetricPublisher & { calls: number; fail: boolean; hang: boolean } {
  const p = {
    name: "fake",
    periodSeconds: 60,
    calls: 0,
    fail: false,
    hang: false,
    publish(metrics: readonly FlatMetric[]) {
      p.calls++;
      if (!metrics.some((m) => m.name === "aurproxy.update_attempted")) {
        return Promise.reject(new Error("original names missing"));
      }
      if (p.hang) return new Promise<void>(() => {});
      return p.fail ? Promise.reject(new Error("refused")) : Promise.resolve();
    },
  };
  return p;
}

Deno.test("publish loop: one publish per period; a failure is logged, counted and retried next period", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  metrics.inc("update_attempts_total", "a");
  const logger = memoryLogger();
  const publisher = fakePublisher();
  const loop = new PublishLoop({ publisher, metrics, clock, logger });
  const count = (result: string) =>
    metrics.get("metric_publishes_total", { publisher: "fake", result });
  loop.start();
  await clock.advance(59_000);
  strictEqual(publisher.calls, 0);
  await clock.advance(1_000);
  strictEqual(publisher.calls, 1);
  strictEqual(count("ok"), 1);
  publisher.fail = true;
  await clock.advance(60_000);
  strictEqual(count("failed"), 1);
  strictEqual(
    logger.lines.some((l) =>
      l.includes("WARN fake: publishing metrics failed; trying again next period: refused")
    ),
    true,
  );
  publisher.fail = false;
  await clock.advance(60_000);
  strictEqual(count("ok"), 2);
  strictEqual(logger.lines.some((l) => l.includes("publishing metrics again")), true);
  // Shutdown: the last period goes out, then nothing more.
  await loop.flush();
  strictEqual(publisher.calls, 4);
  strictEqual(clock.pending, 0);
});

Deno.test("publish loop: a publish that hangs is cut at its deadline, and its period's successor skipped meanwhile", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  metrics.inc("update_attempts_total", "a");
  const publisher = fakePublisher();
  publisher.hang = true;
  const loop = new PublishLoop({
    publisher,
    metrics,
    clock,
    logger: memoryLogger(),
    timeoutMs: 50,
  });
  loop.start();
  await clock.advance(60_000);
  await clock.advance(60_000);
  strictEqual(metrics.get("metric_publishes_total", { publisher: "fake", result: "skipped" }), 1);
  await new Promise((r) => setTimeout(r, 100));
  strictEqual(metrics.get("metric_publishes_total", { publisher: "fake", result: "failed" }), 1);
  const started = performance.now();
  await loop.flush(50);
  strictEqual(performance.now() - started < 1000, true, "flush is bounded");
  strictEqual(metrics.get("metric_publishes_total", { publisher: "fake", result: "failed" }), 2);
});
