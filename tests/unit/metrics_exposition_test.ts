import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { wantsOpenMetrics } from "../../lib/metrics/exposition.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { openMetricsCheck, promtoolCheck } from "../../testing/metrics_checks.ts";

function sample(): MetricsRegistry {
  const m = new MetricsRegistry("aurproxy");
  m.inc("reloads_total", "nginx reloads.");
  m.declareCounter("health_checks_total", "Checks, by result.", { result: "failure" });
  m.set("endpoints", 'Endpoints "known"\\ by\nupstream.', 3, { upstream: 'we"b\\1', pool: "p" });
  m.setCounter("nginx_requests_total", "Requests.", 31);
  m.observe("apply_duration_seconds", "Apply.", 0.2, { result: "applied" }, [0.1, 0.5, 1]);
  m.observe("apply_duration_seconds", "Apply.", 2, { result: "applied" }, [0.1, 0.5, 1]);
  m.declareHistogram("discovery_to_apply_seconds", "Latency.", [1, 10]);
  m.root().set("process_open_fds", "Open fds.", 12);
  m.root().setCounter("process_cpu_seconds_total", "CPU.", 1.5);
  return m;
}

Deno.test("registry: histograms count per bound (cumulative), sum and count", () => {
  const m = sample();
  const h = m.families().find((f) => f.name === "aurproxy_apply_duration_seconds")!;
  strictEqual(h.type, "histogram");
  if (h.type !== "histogram") return;
  deepStrictEqual(h.buckets, [0.1, 0.5, 1]);
  deepStrictEqual(h.values[0].counts, [0, 1, 1]);
  strictEqual(h.values[0].count, 2);
  strictEqual(h.values[0].sum, 2.2);
  strictEqual(m.get("apply_duration_seconds", { result: "applied" }), 2);
});

Deno.test("registry: Prometheus' naming rules are enforced where a metric is first named", () => {
  const m = new MetricsRegistry("aurproxy");
  throws(() => m.inc("reloads", "x"), /counter aurproxy_reloads must end in _total/);
  throws(() => m.set("things_total", "x", 1), /only counters/);
  throws(() => m.set("latency_count", "x", 1), /histogram's own series/);
  throws(() => m.observe("x_seconds", "x", 1, {}, [2, 1]), /ascending/);
  m.set("g", "x", 1);
  throws(() => m.inc("g", "x"), /is a gauge/);
});

Deno.test("registry: the root view shares the store without the prefix", () => {
  const m = sample();
  strictEqual(m.families().some((f) => f.name === "process_open_fds"), true);
  strictEqual(m.root().get("process_open_fds"), 12);
  strictEqual(m.get("reloads_total"), 1);
});

Deno.test("exposition: Prometheus text passes promtool check metrics", async () => {
  const text = sample().prometheus();
  const r = await promtoolCheck(text);
  strictEqual(r.ok, true, `${r.output}\n${text}`);
  strictEqual(
    text.includes("# TYPE aurproxy_reloads_total counter\naurproxy_reloads_total 1\n"),
    true,
  );
  strictEqual(
    text.includes('aurproxy_apply_duration_seconds_bucket{result="applied",le="0.5"} 1\n'),
    true,
    text,
  );
  strictEqual(
    text.includes('aurproxy_apply_duration_seconds_bucket{result="applied",le="+Inf"} 2'),
    true,
  );
  strictEqual(text.includes('aurproxy_apply_duration_seconds_count{result="applied"} 2'), true);
  strictEqual(text.includes('aurproxy_endpoints{pool="p",upstream="we\\"b\\\\1"} 3'), true, text);
  strictEqual(
    text.includes('# HELP aurproxy_endpoints Endpoints "known"\\\\ by\\nupstream.'),
    true,
  );
  // A declared histogram is exported before its first observation.
  strictEqual(text.includes('aurproxy_discovery_to_apply_seconds_bucket{le="+Inf"} 0'), true);
});

Deno.test("exposition: promtool does reject what the registry keeps out", async () => {
  // The check is not vacuous: a counter without _total fails it.
  const r = await promtoolCheck("# HELP x X.\n# TYPE x counter\nx 1\n");
  strictEqual(r.ok, false);
  strictEqual(r.output.includes("_total"), true, r.output);
});

Deno.test("exposition: OpenMetrics text parses strictly, counters named without _total", async () => {
  const text = sample().openMetrics();
  const r = await openMetricsCheck(text);
  strictEqual(r.ok, true, `${r.output}\n${text}`);
  strictEqual(Number(r.output), 8, "every family");
  strictEqual(text.endsWith("# EOF\n"), true);
  strictEqual(text.includes("# TYPE aurproxy_reloads counter\naurproxy_reloads_total 1\n"), true);
  strictEqual(text.includes("# UNIT aurproxy_apply_duration_seconds seconds"), true);
  strictEqual(text.includes("# UNIT process_cpu_seconds seconds"), true);
  strictEqual(text.includes('le="1.0"'), true, text);
  // A broken text is caught: the parser is strict.
  strictEqual((await openMetricsCheck("# TYPE x counter\nx 1\n")).ok, false);
});

Deno.test("exposition: OpenMetrics only when Accept asks for it", () => {
  strictEqual(wantsOpenMetrics(null), false);
  strictEqual(wantsOpenMetrics("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), false);
  strictEqual(
    wantsOpenMetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    true,
  );
  strictEqual(wantsOpenMetrics("application/openmetrics-text;q=0"), false);
});
