import { deepStrictEqual, strictEqual } from "node:assert";
import type { ApplyResult } from "../../lib/backends/backend.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { memoryLogger } from "../../lib/log.ts";
import { EndpointGauges } from "../../lib/metrics/endpoint_gauges.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import type { PipelineListener } from "../../lib/pipeline/listener.ts";
import { Reconciler } from "../../lib/pipeline/reconciler.ts";
import { Topology } from "../../lib/pipeline/topology.ts";
import { HostResolver, type LookupFn } from "../../lib/pipeline/host_resolver.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { MutableSource } from "../../testing/mutable_source.ts";

/** Two routes, one static source each ("a", "b"), driven by MutableSources. */
function setup(results: ApplyResult["kind"][] = [], lookup?: LookupFn) {
  const clock = new FakeClock();
  const logger = memoryLogger();
  const resolver = lookup && new HostResolver({ clock, logger, lookup });
  const config = parseConfig({
    backend: "nginx",
    servers: [{
      ports: [8080],
      routes: ["a", "b"].map((name) => ({
        locations: [`/${name}/`],
        sources: [{ source_class: "static", name, host: "127.0.0.1", port: 1 }],
      })),
    }],
  });
  const sources = new Map<string, MutableSource>();
  const topology = new Topology(config, {
    clock,
    logger,
    createSource: (c) => {
      if (c.kind !== "static") throw new Error("static sources only");
      const s = new MutableSource(`static.${c.name}`, []);
      sources.set(c.name, s);
      return s;
    },
    createAdjuster: () => {
      throw new Error("no adjusters here");
    },
  });
  const applied: ProxySnapshot[] = [];
  const applier = {
    apply: (snap: ProxySnapshot): Promise<ApplyResult> => {
      applied.push(snap);
      const kind = results.shift() ?? "applied";
      return Promise.resolve(
        kind === "applied"
          ? { kind, reloaded: true, durationMs: 3 }
          : kind === "unchanged"
          ? { kind }
          : { kind, error: `${kind} on purpose` },
      );
    },
  };
  const events: string[] = [];
  const recorder: PipelineListener = {
    onSnapshot: (_snap, prev) =>
      events.push(`snapshot ${applied.length} prev=${prev !== undefined}`),
    onApplied: (r, snap) => events.push(`applied ${r.kind} same=${snap === applied.at(-1)}`),
  };
  const metrics = new MetricsRegistry("aurproxy");
  const reconciler = new Reconciler(
    { clock, logger, config, members: topology, applier, resolver, listeners: [recorder] },
    { updatePeriodSeconds: 2, minIntervalSeconds: 0, weightAdjustmentDelaySeconds: 0 },
  );
  reconciler.addListener(new EndpointGauges(metrics));
  topology.onChange(() => reconciler.markDirty());
  return { clock, logger, topology, reconciler, sources, applied, events, metrics };
}

const ports = (snap: ProxySnapshot, route: number) =>
  snap.servers[0].routes[route].endpoints.map((e) => e.port);

Deno.test("reconciler: each update builds one snapshot, tells every listener, applies it, tells them the result", async () => {
  const { clock, topology, reconciler, sources, applied, events, metrics } = setup();
  await topology.start();
  reconciler.start();
  await clock.advance(1);
  strictEqual(applied.length, 1);
  sources.get("a")!.setPorts([9001, 9002]);
  await clock.advance(1);
  strictEqual(applied.length, 2);
  deepStrictEqual(ports(applied[1], 0), [9001, 9002]);
  strictEqual(reconciler.snapshot(), applied[1]);
  deepStrictEqual(events, [
    "snapshot 0 prev=false",
    "applied applied same=true",
    "snapshot 1 prev=true",
    "applied applied same=true",
  ]);
  const labels = { upstream: applied[1].servers[0].routes[0].slug, pool: "primary" };
  strictEqual(metrics.get("endpoints_live", labels), 2);
  await reconciler.stop();
  await topology.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("reconciler: a failed reload is retried on the next period tick; a rejected config waits for a change", async () => {
  const { clock, topology, reconciler, sources, applied } = setup(["reload_failed", "applied"]);
  await topology.start();
  reconciler.start();
  await clock.advance(1);
  strictEqual(applied.length, 1);
  await clock.advance(2000);
  strictEqual(applied.length, 2, "retried after a failed reload");
  await reconciler.stop();
  await topology.stop();

  const s2 = setup(["invalid"]);
  await s2.topology.start();
  s2.reconciler.start();
  await s2.clock.advance(10_000);
  strictEqual(s2.applied.length, 1, "no retry of a rejected config");
  s2.sources.get("b")!.setPorts([9003]);
  await s2.clock.advance(1);
  strictEqual(s2.applied.length, 2, "a new change is tried");
  await s2.reconciler.stop();
  await s2.topology.stop();
  strictEqual(sources.get("b")!.endpoints().length, 0);
});

Deno.test("reconciler: a throwing listener is logged and the others still hear every event", async () => {
  const { clock, logger, topology, reconciler, applied, events } = setup();
  reconciler.addListener({
    onSnapshot: () => {
      throw new Error("boom");
    },
  });
  const late: string[] = [];
  const remove = reconciler.addListener({ onApplied: (r) => late.push(r.kind) });
  await topology.start();
  reconciler.start();
  await clock.advance(1);
  strictEqual(applied.length, 1);
  strictEqual(events.length, 2);
  deepStrictEqual(late, ["applied"]);
  strictEqual(
    logger.lines.some((l) => l.includes("a pipeline listener failed in onSnapshot: boom")),
    true,
  );
  remove();
  reconciler.markDirty();
  await clock.advance(1);
  deepStrictEqual(late, ["applied"], "a removed listener hears nothing");
  await reconciler.stop();
  await topology.stop();
});

Deno.test("reconciler: health is degraded while endpoints are left out for want of an address", async () => {
  const lookup: LookupFn = (host) =>
    host === "gone.example.com" ? Promise.reject(new Error("ENOTFOUND")) : Promise.resolve(host);
  const { clock, topology, reconciler, sources, applied } = setup([], lookup);
  const probe = reconciler.healthProbe();
  strictEqual(probe().level, "ok");
  await topology.start();
  sources.get("a")!.setPorts([9001], "gone.example.com");
  sources.get("b")!.setPorts([9002], "10.0.0.2");
  reconciler.start();
  await clock.advance(1);
  strictEqual(applied.length, 1);
  deepStrictEqual(ports(applied[0], 0), []);
  deepStrictEqual(ports(applied[0], 1), [9002]);
  deepStrictEqual(probe(), {
    level: "degraded",
    lines: ["1 endpoint(s) left out, host name(s) not resolving: gone.example.com"],
  });
  await reconciler.stop();
  await topology.stop();
});
