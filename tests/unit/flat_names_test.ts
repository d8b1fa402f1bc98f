import { deepStrictEqual, strictEqual } from "node:assert";
import { flatMetrics, flatName, metricsJson } from "../../lib/metrics/flat_names.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";

Deno.test("flat names: this project's metrics in the original's dotted style", () => {
  strictEqual(flatName("aurproxy_reloads_total", "counter", {}), "aurproxy.reloads");
  strictEqual(
    flatName("aurproxy_endpoints_live", "gauge", { upstream: "s_web_80", pool: "primary" }),
    "aurproxy.endpoints_live.pool.primary.upstream.s_web_80",
  );
  // Dots, colons and pipes would add levels or break StatsD's lines.
  strictEqual(
    flatName("aurproxy_zk_connected", "gauge", { ensemble: "10.0.0.1:2181|x" }),
    "aurproxy.zk_connected.ensemble.10_0_0_1_2181_x",
  );
  strictEqual(flatName("process_cpu_seconds_total", "counter", {}), "aurproxy.process_cpu_seconds");
});

Deno.test("flat names: the original's update and revert counters come from the applier's", () => {
  const m = new MetricsRegistry("aurproxy");
  m.inc("update_attempts_total", "a", {}, 5);
  m.inc("update_successes_total", "s", {}, 4);
  m.inc("update_unchanged_total", "u", {}, 1);
  m.inc("update_failures_total", "f", {}, 1);
  const j = metricsJson(m.families());
  strictEqual(j["aurproxy.update_attempted"], 5);
  strictEqual(j["aurproxy.update_attempt_succeeded"], 4);
  strictEqual(j["aurproxy.update_attempt_failed"], 1);
  strictEqual(j["aurproxy.update_succeeded"], 3, "changed and loaded: successes less unchanged");
  strictEqual(j["aurproxy.update_failed"], 1);
  strictEqual(j["aurproxy.revert_succeeded"], 1, "the previous config kept serving");
  strictEqual(j["aurproxy.revert_failed"], 0);
  // Beside them, ours in the same style.
  strictEqual(j["aurproxy.update_attempts"], 5);
  // Names are sorted, as the original's /metrics.json was.
  const names = Object.keys(j);
  deepStrictEqual(names, [...names].sort());
});

Deno.test("flat names: nginx's stub_status under the original's proxy.* names", () => {
  const m = new MetricsRegistry("aurproxy");
  for (
    const [state, v] of [["active", 3], ["reading", 0], ["writing", 1], ["waiting", 2]] as const
  ) {
    m.set("nginx_connections", "c", v, { state });
  }
  m.setCounter("nginx_accepted_connections_total", "a", 16);
  m.setCounter("nginx_handled_connections_total", "h", 15);
  m.setCounter("nginx_requests_total", "r", 31);
  const byName = new Map(flatMetrics(m.families()).map((f) => [f.name, f]));
  deepStrictEqual(byName.get("aurproxy.proxy.active_connections"), {
    name: "aurproxy.proxy.active_connections",
    type: "gauge",
    value: 3,
  });
  strictEqual(byName.get("aurproxy.proxy.total_accepts")?.value, 16);
  strictEqual(byName.get("aurproxy.proxy.total_accepts")?.type, "counter");
  strictEqual(byName.get("aurproxy.proxy.total_handled")?.value, 15);
  strictEqual(byName.get("aurproxy.proxy.total_requests")?.value, 31);
  strictEqual(byName.get("aurproxy.proxy.reading")?.value, 0);
  strictEqual(byName.get("aurproxy.proxy.writing")?.value, 1);
  strictEqual(byName.get("aurproxy.proxy.waiting")?.value, 2);
});

Deno.test("flat names: an original name is left out while its source metric does not exist", () => {
  // run_replay has no proxy: no update_* or proxy.* names at all.
  const m = new MetricsRegistry("aurproxy");
  m.set("mirror_targets", "t", 2);
  deepStrictEqual(Object.keys(metricsJson(m.families())), ["aurproxy.mirror_targets"]);
});

Deno.test("flat names: a histogram publishes its count and sum", () => {
  const m = new MetricsRegistry("aurproxy");
  m.observe("apply_duration_seconds", "a", 0.25, { result: "applied" });
  const j = metricsJson(m.families());
  strictEqual(j["aurproxy.apply_duration_seconds.result.applied.count"], 1);
  strictEqual(j["aurproxy.apply_duration_seconds.result.applied.sum"], 0.25);
});
