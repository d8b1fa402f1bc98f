/**
 * Share adjusters proven with real traffic through a real nginx, while the configuration
 * changes under it: a ramping endpoint's request count follows the weight nginx runs at
 * each step of its ramp, and primaries that really fail push traffic to the overflow pool
 * and take it back, with not one failed request (a new connection per request).
 *
 * How counts are compared with weights: the client sends one request at a time, so nginx's
 * `least_conn` sees 0 active connections everywhere and falls back to smooth weighted round
 * robin. That algorithm keeps each worker within one request of the exact split over any
 * run of requests it served since it started, so a run cut out of that sequence (one
 * configuration's requests) is within two requests per worker. nginx runs
 * {@linkcode WORKERS} workers here, hence a tolerance of {@linkcode TOLERANCE} requests per
 * backend, whatever the number of requests: much tighter than the gap between two steps of
 * the ramp, so a proxy that did not follow its rendered weights could not pass.
 *
 * Which configuration served a request: the tag read before sending and after the answer
 * is the snapshot nginx is confirmed to run (applied, with no newer one being applied), and
 * the weights are read from the live nginx.conf for that snapshot. A request whose two tags
 * differ ran across a reload and is only checked for success.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { ProxyApp } from "../../lib/app.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { testApp } from "../../testing/app.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { startNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";
import { startTraffic, type Traffic, type TrafficRecord } from "../../testing/traffic.ts";

const RAMP = "tellapart.aurproxy.share.adjusters.RampingShareAdjuster";
const HEALTH = "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster";

/** nginx worker processes, pinned so the tolerance below does not depend on the machine. */
const WORKERS = 2;
/** Allowed difference between a backend's count and its exact weighted share (see top). */
const TOLERANCE = 2 * WORKERS;

function source(name: string, port: number, adjusters: unknown[] = []) {
  return { source_class: "static", name, host: "127.0.0.1", port, share_adjusters: adjusters };
}

/** What nginx runs: the confirmed snapshot and the weights its live nginx.conf renders. */
interface Live {
  readonly snap: ProxySnapshot;
  /** weight= by backend port, as written in nginx.conf; absent = not a live server. */
  readonly conf: ReadonlyMap<number, number>;
}

/** `weight=` of every live `server` line of nginx.conf, by port. */
function confWeights(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^\s*server 127\.0\.0\.1:(\d+) weight=(\d+)/gm)) {
    out.set(Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Live weights by port from the snapshot itself, to check the file says the same. */
function snapWeights(snap: ProxySnapshot): Map<number, number> {
  const eps = snap.servers[0].routes[0].endpoints.filter((e) => e.weight > 0);
  return new Map(eps.map((e) => [e.port, e.weight]));
}

/**
 * A tag function for {@linkcode startTraffic}: what nginx runs now, or undefined while an
 * update is between being built and being confirmed (workers may run either config).
 */
function liveConfig(app: ProxyApp, confPath: string): () => Live | undefined {
  const seen = new Map<ProxySnapshot, Live>();
  return () => {
    const applied = app.appliedSnapshot();
    if (!applied || app.snapshot() !== applied) return undefined;
    let live = seen.get(applied);
    if (!live) {
      // No apply is in flight and the read is synchronous, so no apply can start during
      // it: the file read is the one nginx confirmed loading.
      live = { snap: applied, conf: confWeights(Deno.readTextFileSync(confPath)) };
      seen.set(applied, live);
    }
    return live;
  };
}

/** Requests served entirely under one configuration, grouped by it, in order. */
function byConfig(records: readonly TrafficRecord<Live | undefined>[]) {
  const groups = new Map<Live, TrafficRecord<Live | undefined>[]>();
  for (const r of records) {
    if (!r.before || r.before !== r.after) continue;
    const g = groups.get(r.before) ?? [];
    g.push(r);
    groups.set(r.before, g);
  }
  return groups;
}

/** Asserts that `records`, all served under `live`, split over `backends` as its weights say. */
function assertSplit(
  what: string,
  live: Live,
  records: readonly TrafficRecord<unknown>[],
  backends: readonly TestBackend[],
): void {
  deepStrictEqual(live.conf, snapWeights(live.snap), `${what}: nginx.conf = snapshot weights`);
  const total = backends.reduce((s, b) => s + (live.conf.get(b.port) ?? 0), 0);
  const counts = backends.map((b) => records.filter((r) => r.body === b.name).length);
  strictEqual(counts.reduce((a, b) => a + b, 0), records.length, `${what}: unknown servers`);
  backends.forEach((b, i) => {
    const expected = records.length * (live.conf.get(b.port) ?? 0) / total;
    ok(
      Math.abs(counts[i] - expected) <= TOLERANCE,
      `${what}: ${b.name} served ${counts[i]} of ${records.length}, weights ${
        backends.map((x) => `${x.name}=${live.conf.get(x.port) ?? 0}`).join(" ")
      } say ${expected.toFixed(1)} ± ${TOLERANCE}`,
    );
  });
}

function assertNoFailure(what: string, traffic: Traffic<unknown>): void {
  const failed = traffic.failures();
  strictEqual(
    failed.length,
    0,
    `${what}: ${failed.length} of ${traffic.records.length} requests failed, first: ${
      JSON.stringify(failed.slice(0, 3).map((r) => ({ status: r.status, error: r.error })))
    }`,
  );
}

Deno.test("shaping: a ramping endpoint's request count follows its rendered weight through the ramp", async () => {
  const old = await startBackend({ name: "old" });
  const fresh = await startBackend({ name: "new" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [old.port] }] }]),
    [port],
  );
  // min_share 0.2 for 1 s, then linear to 1 over 4 s with a new weight every second:
  // 200, ~400, ~600, ~800, 1000 against the old endpoint's 1000.
  const { app, sources } = testApp(nginx, {
    backend: "nginx",
    context: { worker_processes: WORKERS },
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        sources: [
          source("old", old.port),
          source("new", fresh.port, [{
            share_adjuster_class: RAMP,
            ramp_delay: 1,
            ramp_seconds: 4,
            update_frequency: 1,
            min_share: 0.2,
          }]),
        ],
      }],
    }],
  });
  // The new instance appears while traffic already flows to the old one, as in a deploy;
  // its ramp starts when it appears.
  sources.get("new")!.setPorts([]);
  let traffic: Traffic<Live | undefined> | undefined;
  try {
    await app.start();
    const live = liveConfig(app, nginx.options.configurationFile);
    await waitFor("the old endpoint alone live", () => live()?.conf.size === 1, 8000);
    traffic = startTraffic(port, { tag: live });
    sources.get("new")!.setPorts([fresh.port]);
    const t = traffic;
    const atEqualWeights = () =>
      [...byConfig(t.records)].filter(([l]) => l.conf.get(fresh.port) === 1000)
        .reduce((n, [, rs]) => n + rs.length, 0);
    await waitFor(
      "the ramp over and 300 requests at equal weights",
      () => atEqualWeights() >= 300,
      15_000,
    );
    await traffic.stop();

    assertNoFailure("during the ramp", traffic);
    const groups = [...byConfig(traffic.records)].filter(([l]) => l.conf.has(fresh.port));
    const steps = groups.map(([l]) => l.conf.get(fresh.port)!);
    // The ramp only goes up, from min_share to equal weights.
    strictEqual(steps[0], 200, `weights seen: ${steps}`);
    strictEqual(steps.at(-1), 1000, `weights seen: ${steps}`);
    for (let i = 1; i < steps.length; i++) ok(steps[i] >= steps[i - 1], `weights seen: ${steps}`);
    for (const [l, rs] of byConfig(traffic.records)) {
      assertSplit(`new at weight ${l.conf.get(fresh.port) ?? 0}`, l, rs, [old, fresh]);
    }
    // The tolerance does not grow with the number of requests: from 100 requests on, the
    // split of any other step (new's fractions are at least 0.05 apart) misses by more
    // than the tolerance, so such a step is a measured point of the ramp.
    const midRamp = new Set(
      groups.filter(([, rs]) => rs.length >= 100).map(([l]) => l.conf.get(fresh.port)!)
        .filter((w) => w < 1000),
    );
    ok(midRamp.size >= 2, `requests measured at ${[...midRamp]} only: need two points of the ramp`);
    const ramped = app.appliedSnapshot()!.servers[0].routes[0].endpoints
      .find((e) => e.port === fresh.port)!;
    strictEqual(ramped.factors[0].detail, "ramped");
  } finally {
    await traffic?.stop();
    await app.stop();
    await nginx.stop();
    await old.close();
    await fresh.close();
  }
});

Deno.test("shaping: primaries failing for real move traffic to the overflow pool and back, losing no request", async () => {
  const backends = {
    p1: await startBackend({ name: "p1" }),
    p2: await startBackend({ name: "p2" }),
    overflow: await startBackend({ name: "overflow" }),
  };
  const ports = { p1: backends.p1.port, p2: backends.p2.port, overflow: backends.overflow.port };
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [ports.overflow] }] }]),
    [port],
  );
  const health = {
    share_adjuster_class: HEALTH,
    route: "/health",
    interval: 0.2,
    timeout: 0.15,
    unhealthy_threshold: 2,
    healthy_threshold: 2,
  };
  const { app } = testApp(nginx, {
    backend: "nginx",
    context: { worker_processes: WORKERS },
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        overflow_threshold_pct: 75,
        sources: [source("p1", ports.p1, [health]), source("p2", ports.p2, [health])],
        overflow_sources: [source("overflow", ports.overflow)],
      }],
    }],
  });
  const live = liveConfig(app, nginx.options.configurationFile);
  /** "p1,p2,overflow" weights in the live nginx.conf. */
  const key = (l: Live | undefined) =>
    l ? [ports.p1, ports.p2, ports.overflow].map((p) => l.conf.get(p) ?? 0).join() : "";
  const all = () => [backends.p1, backends.p2, backends.overflow];
  let traffic: Traffic<Live | undefined> | undefined;
  try {
    await app.start();
    await waitFor("primaries healthy", () => key(live()) === "1000,1000,0", 8000);
    traffic = startTraffic(port, { tag: live });
    const t = traffic;

    /** Waits until nginx runs `expected`, then checks 150 requests served under it. */
    const steady = async (what: string, expected: string) => {
      await waitFor(`${what}: weights ${expected} live`, () => key(live()) === expected, 8000);
      assertNoFailure(`up to "${what}"`, t);
      const from = t.records.length;
      const window = () =>
        [...byConfig(t.records.slice(from))].filter(([l]) => key(l) === expected);
      await waitFor(
        `${what}: 150 requests`,
        () => window().reduce((n, [, rs]) => n + rs.length, 0) >= 150,
        8000,
      );
      for (const [l, rs] of window()) assertSplit(what, l, rs, all());
    };
    /**
     * Requests since `from` that nginx may have sent to the dead `name` first: it was still
     * a live server in the config they ran under, so each one that picked it had to be
     * retried elsewhere. The one request in flight at `from` (the client sends one at a
     * time) may have been served before the backend went away, so it is left out.
     */
    const sentToDead = (from: number, name: "p1" | "p2") =>
      t.records.slice(from + 1).filter((r) =>
        r.before && r.before === r.after && (r.before.conf.get(ports[name]) ?? 0) > 0
      );

    await steady("all primaries healthy: overflow idle", "1000,1000,0");

    // p1 crashes: nothing listens on its port any more. Until its health checks fail,
    // nginx still picks it and must retry those requests on p2.
    await backends.p1.close();
    let mark = t.records.length;
    // h = 0.5 < t = 0.75: primaries carry 0.5/0.75 = 2/3, overflow 1/3 (weights 1000 : 500).
    await steady("p1 down: overflow takes a third", "0,1000,500");
    const p1Gap = sentToDead(mark, "p1");
    ok(p1Gap.length >= 5, `only ${p1Gap.length} requests met the dead p1 in the config`);
    ok(
      p1Gap.every((r) => r.status === 200 && r.body === "p2"),
      "the dead p1's requests went to p2",
    );

    // p2 says it is unhealthy (still serving, as a draining instance does): all to overflow.
    backends.p2.healthStatus = 500;
    await steady("p2 unhealthy too: overflow takes everything", "0,0,1000");
    backends.p2.healthStatus = 200;
    await steady("p2 healthy again", "0,1000,500");

    // The last primary crashes: its requests can only be retried on the overflow server.
    await backends.p2.close();
    mark = t.records.length;
    await steady("p2 down: overflow takes everything", "0,0,1000");
    const p2Gap = sentToDead(mark, "p2");
    ok(p2Gap.length >= 5, `only ${p2Gap.length} requests met the dead p2 in the config`);
    ok(p2Gap.every((r) => r.status === 200 && r.body === "overflow"), "p2's went to overflow");

    // Both come back on their ports: overflow idle again.
    backends.p1 = await startBackend({ name: "p1", port: ports.p1 });
    backends.p2 = await startBackend({ name: "p2", port: ports.p2 });
    await steady("primaries back: overflow idle", "1000,1000,0");

    // The whole primary pool crashes at once. Until the health checks notice, nginx tries
    // the dead primaries, then the standby overflow server (a `backup`).
    await Promise.all([backends.p1.close(), backends.p2.close()]);
    mark = t.records.length;
    await steady("every primary down at once: overflow takes everything", "0,0,1000");
    const poolGap = t.records.slice(mark + 1).filter((r) =>
      r.before && r.before === r.after && (r.before.conf.get(ports.p1) ?? 0) > 0 &&
      (r.before.conf.get(ports.p2) ?? 0) > 0
    );
    ok(poolGap.length >= 5, `only ${poolGap.length} requests met the dead pool in the config`);
    ok(poolGap.every((r) => r.status === 200 && r.body === "overflow"), "all went to overflow");
    backends.p1 = await startBackend({ name: "p1", port: ports.p1 });
    backends.p2 = await startBackend({ name: "p2", port: ports.p2 });
    await steady("primaries back again", "1000,1000,0");

    await traffic.stop();
    assertNoFailure("over the whole run", traffic);
  } finally {
    await traffic?.stop();
    await app.stop();
    await nginx.stop();
    for (const b of all()) await b.close();
  }
});
