import { strictEqual } from "node:assert";
import { isAlive } from "../../lib/backends/nginx/process.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { startNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";
import { routeConfig, testApp } from "../../testing/app.ts";

const body = async (port: number) => (await httpGet(port, "/")).body;

Deno.test("app: endpoint changes reach nginx by reload, without restarting it", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  const { app, sources, logger } = testApp(nginx, routeConfig(port, { pool: a.port }));
  try {
    await app.start();
    strictEqual(await body(port), "a");
    sources.get("pool")!.setPorts([b.port]);
    await waitFor("traffic on b", async () => (await body(port)) === "b", 10_000);
    strictEqual(isAlive(nginx.pid), true, "same nginx master");
    strictEqual(
      app.snapshot()!.servers[0].routes[0].endpoints.map((e) => e.port).join(),
      String(b.port),
    );
    // The change log says what that update did, and the log has it on one line.
    // (Traffic can reach the new workers just before the reload is confirmed.)
    await waitFor("the apply to end", () => app.changes.entries().length === 2);
    const last = app.changes.entries().at(-1)!;
    strictEqual(last.apply.kind, "applied");
    strictEqual(last.upstreams[0].joined.map((e) => e.endpoint).join(), `127.0.0.1:${b.port}`);
    strictEqual(last.upstreams[0].left.map((e) => e.endpoint).join(), `127.0.0.1:${a.port}`);
    const line = `+127.0.0.1:${b.port} -127.0.0.1:${a.port}; applied in `;
    strictEqual(logger.lines.some((l) => l.includes(line)), true, logger.lines.join("\n"));
    // All endpoints gone: the route answers its empty-endpoint code.
    sources.get("pool")!.setPorts([]);
    await waitFor(
      "503 with no endpoints",
      async () => (await httpGet(port, "/")).status === 503,
      10_000,
    );
  } finally {
    await app.stop();
    await nginx.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("app: --weight-adjustment-delay-seconds holds adjusters back, then one update applies them", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  const config = routeConfig(port, { a: a.port, b: b.port });
  // b would get nothing for an hour once adjustments apply.
  (config.servers[0].routes[0].sources[1] as Record<string, unknown>).share_adjusters = [
    {
      share_adjuster_class: "tellapart.aurproxy.share.adjusters.DelayStartShareAdjuster",
      seconds: 3600,
    },
  ];
  const { app } = testApp(nginx, config, { weightAdjustmentDelaySeconds: 1 });
  const weights = () =>
    app.appliedSnapshot()?.servers[0].routes[0].endpoints.map((e) => e.weight).join() ?? "";
  try {
    await app.start();
    await waitFor("equal weights during the delay", () => weights() === "1000,1000");
    strictEqual(app.appliedSnapshot()!.adjustmentDelayed, true);
    const updates = app.updater.updates;
    await waitFor("adjusters applied after the delay", () => weights() === "1000,0", 5000);
    strictEqual(app.appliedSnapshot()!.adjustmentDelayed, false);
    strictEqual(app.updater.updates, updates + 1, "exactly one update when the delay ends");
  } finally {
    await app.stop();
    await nginx.stop();
    await a.close();
    await b.close();
  }
});

Deno.test("app: a config nginx rejects leaves the previous one serving; the failure is counted and on /health", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  const live = await Deno.readTextFile(nginx.options.configurationFile);
  // Valid JSON, but a value only nginx can judge.
  const config = {
    ...routeConfig(port, { pool: b.port }),
    context: { worker_connections: "lots" },
  };
  const { app, sources } = testApp(nginx, config);
  try {
    await app.start();
    await waitFor("the update to fail", () => nginx.metrics.get("update_failures_total") >= 1);
    strictEqual(nginx.metrics.get("validation_failures_total"), 1);
    strictEqual(nginx.metrics.get("reloads_total"), 0);
    strictEqual(await Deno.readTextFile(nginx.options.configurationFile), live);
    strictEqual(await body(port), "a", "nginx still serves the previous config");
    const health = app.healthProbe()();
    strictEqual(health.level, "degraded");
    strictEqual(
      health.lines.some((l) =>
        l.startsWith("proxy update failing for") && l.includes('invalid number "lots"')
      ),
      true,
      health.lines.join("\n"),
    );
    // The next change is tried again, and refused again.
    sources.get("pool")!.setPorts([a.port, b.port]);
    await waitFor("the retry", () => nginx.metrics.get("validation_failures_total") === 2);
    strictEqual(await body(port), "a");
  } finally {
    await app.stop();
    await nginx.stop();
    await a.close();
    await b.close();
  }
});
