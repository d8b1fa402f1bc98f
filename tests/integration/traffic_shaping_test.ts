/**
 * Share adjusters proven with real traffic through a real nginx: request counts follow
 * the rendered weights, and failing primaries push traffic to the overflow pool, with
 * no failed request (a new connection per request).
 */
import { strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../helpers/backend.ts";
import { httpGet } from "../helpers/http.ts";
import { startNginx } from "../helpers/nginx.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { snapshot } from "../helpers/snapshots.ts";
import { testApp } from "../helpers/app.ts";

const RAMP = "tellapart.aurproxy.share.adjusters.RampingShareAdjuster";
const HEALTH = "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster";

function source(name: string, port: number, adjusters: unknown[] = []) {
  return { source_class: "static", name, host: "127.0.0.1", port, share_adjusters: adjusters };
}

/** Sends `n` requests, each on a new connection; returns the non-200 count. */
async function drive(port: number, n: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < n; i++) if ((await httpGet(port, "/")).status !== 200) failed++;
  return failed;
}

const reset = (...bs: TestBackend[]) => bs.forEach((b) => b.hits.clear());

Deno.test("shaping: a ramping endpoint gets traffic in proportion to its rendered weight", async () => {
  const old = await startBackend({ name: "old" });
  const fresh = await startBackend({ name: "new" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [old.port] }] }]),
    [port],
  );
  // min_share 0.25 and a long ramp_delay hold the new endpoint at 0.25 for the whole test.
  const { app } = testApp(nginx, {
    backend: "nginx",
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        sources: [
          source("old", old.port),
          source("new", fresh.port, [{
            share_adjuster_class: RAMP,
            ramp_delay: 3600,
            ramp_seconds: 60,
            update_frequency: 10,
            min_share: 0.25,
          }]),
        ],
      }],
    }],
  });
  try {
    await app.start();
    await waitFor(
      "weights live",
      () => app.appliedSnapshot()?.servers[0].routes[0].endpoints.length === 2,
    );
    const weights = app.appliedSnapshot()!.servers[0].routes[0].endpoints.map((e) => e.weight);
    strictEqual(weights.join(), "1000,250");
    reset(old, fresh);
    strictEqual(await drive(port, 500), 0);
    const share = fresh.total() / (old.total() + fresh.total());
    // Expected 250 / 1250 = 0.2; nginx's weighted round robin is exact over a full cycle,
    // so allow a small tolerance for the requests at the edges: ±0.03.
    strictEqual(Math.abs(share - 0.2) <= 0.03, true, `new endpoint got ${share}`);
    const status = app.snapshot()!.servers[0].routes[0].endpoints[1];
    strictEqual(status.factors[0].detail, "waiting 0/3600s");
  } finally {
    await app.stop();
    await nginx.stop();
    await old.close();
    await fresh.close();
  }
});

Deno.test("shaping: failing primaries move traffic to the overflow pool and back, losing no request", async () => {
  const p1 = await startBackend({ name: "p1" });
  const p2 = await startBackend({ name: "p2" });
  const spill = await startBackend({ name: "overflow" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [spill.port] }] }]),
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
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        overflow_threshold_pct: 75,
        sources: [source("p1", p1.port, [health]), source("p2", p2.port, [health])],
        overflow_sources: [source("overflow", spill.port)],
      }],
    }],
  });
  // What nginx is confirmed to be running, not merely what was computed.
  const weights = () =>
    app.appliedSnapshot()?.servers[0].routes[0].endpoints.map((e) => e.weight).join() ?? "";
  try {
    await app.start();
    await waitFor("primaries healthy, overflow idle", () => weights() === "1000,1000,0", 5000);
    reset(p1, p2, spill);
    strictEqual(await drive(port, 100), 0);
    strictEqual(spill.total(), 0, "overflow idle while primaries are healthy");

    // One primary down: h = 0.5 < t = 0.75 → primaries carry 2/3, overflow 1/3.
    p1.healthStatus = 500;
    await waitFor("one primary out", () => weights() === "0,1000,500", 5000);
    reset(p1, p2, spill);
    strictEqual(await drive(port, 300), 0);
    const overflowShare = spill.total() / 300;
    strictEqual(Math.abs(overflowShare - 1 / 3) <= 0.05, true, `overflow got ${overflowShare}`);
    strictEqual(p1.total(), 0);

    // Both down: everything to overflow, still no failure.
    p2.healthStatus = 500;
    await waitFor("all primaries out", () => weights() === "0,0,1000", 5000);
    reset(p1, p2, spill);
    strictEqual(await drive(port, 100), 0);
    strictEqual(spill.total(), 100);

    // Recovery: overflow back to 0.
    p1.healthStatus = 200;
    p2.healthStatus = 200;
    await waitFor("primaries back", () => weights() === "1000,1000,0", 5000);
    reset(p1, p2, spill);
    strictEqual(await drive(port, 100), 0);
    strictEqual(spill.total(), 0);
  } finally {
    await app.stop();
    await nginx.stop();
    for (const b of [p1, p2, spill]) await b.close();
  }
});
