import { strictEqual } from "node:assert";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { UpdateTiming } from "../../lib/observability/update_timing.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const snap = (): ProxySnapshot => ({
  context: {},
  servers: [],
  builtAt: 0,
  adjustmentDelayed: false,
});

function latency(m: MetricsRegistry): { count: number; sum: number } {
  const f = m.families().find((f) => f.name === "aurproxy_discovery_to_apply_seconds")!;
  if (f.type !== "histogram") throw new Error("not a histogram");
  return { count: f.values[0].count, sum: f.values[0].sum };
}

Deno.test("update timing: apply duration by result, from snapshot to result", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  const t = new UpdateTiming({ clock, metrics });
  const s = snap();
  t.onSnapshot(s);
  await clock.advance(250);
  t.onApplied({ kind: "applied", reloaded: true, durationMs: 250 }, s);
  strictEqual(metrics.get("apply_duration_seconds", { result: "applied" }), 1);
  const f = metrics.families().find((f) => f.name === "aurproxy_apply_duration_seconds")!;
  if (f.type !== "histogram") throw new Error("not a histogram");
  strictEqual(f.values.find((v) => v.labels.result === "applied")!.sum, 0.25);
  // Every result is declared, so dashboards see zeros rather than gaps.
  strictEqual(f.values.length, 5);
});

Deno.test("update timing: discovery-to-apply from the first change event to the confirmed reload, across a failed apply", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  const t = new UpdateTiming({ clock, metrics });
  t.sourceChanged();
  await clock.advance(1000);
  t.sourceChanged(); // a second event before the update: still measured from the first
  await clock.advance(1000);
  const first = snap();
  t.onSnapshot(first);
  await clock.advance(500);
  t.onApplied({ kind: "reload_failed", error: "nginx down" }, first);
  strictEqual(latency(metrics).count, 0, "not live yet");
  await clock.advance(2000);
  const retry = snap();
  t.onSnapshot(retry);
  await clock.advance(500);
  t.onApplied({ kind: "applied", reloaded: true, durationMs: 500 }, retry);
  strictEqual(latency(metrics).count, 1);
  strictEqual(
    latency(metrics).sum,
    5,
    "2 s to the first update, 0.5 s failing, 2 s waiting, 0.5 s applying",
  );
});

Deno.test("update timing: no sample without a change event, nor for a change that rendered the same config", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  const t = new UpdateTiming({ clock, metrics });
  const a = snap();
  t.onSnapshot(a); // e.g. the weight adjustment delay ended: no source event
  t.onApplied({ kind: "applied", reloaded: true, durationMs: 1 }, a);
  t.sourceChanged();
  const b = snap();
  t.onSnapshot(b);
  t.onApplied({ kind: "unchanged" }, b);
  const c = snap();
  t.onSnapshot(c);
  t.onApplied({ kind: "applied", reloaded: true, durationMs: 1 }, c);
  strictEqual(latency(metrics).count, 0);
  await clock.advance(0);
});
