/**
 * Issue 8 A2: a config that passes `nginx -t` but kills every worker at reload
 * (`worker_connections 1000000000`: each worker's `malloc()` of its connections fails).
 * aurproxy must notice that no worker serves, put `<file>.1` back, get nginx serving it
 * again, say so truthfully (log, metric, /health) and not retry that config until the
 * desired config changes.
 */

import { strictEqual } from "node:assert";
import { childPids } from "../../lib/backends/nginx/process.ts";
import { routeConfig, testApp } from "../../testing/app.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { startNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

const FATAL = { worker_connections: "1000000000" };

Deno.test("nginx: a config whose workers all die at reload is rolled back to <file>.1 and not retried", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const c = await startBackend({ name: "c" });
  const port = freePort();
  const route = (p: number, context = {}) =>
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [p] }] }], context);
  const nginx = await startNginx(route(a.port), [port]);
  const file = nginx.options.configurationFile;
  try {
    const good = await Deno.readTextFile(file);
    const fatal = route(b.port, FATAL);
    const r = await nginx.backend.apply(fatal, { reload: true });
    // Still served by the previous config: no request fails after the apply returns.
    for (let i = 0; i < 5; i++) {
      strictEqual((await httpGet(port, "/", { timeoutMs: 2000 })).body, "a");
    }
    strictEqual(r.kind, "invalid", JSON.stringify(r));
    const error = r.kind === "invalid" ? r.error : "";
    strictEqual(error.includes("no worker"), true, error);
    strictEqual(error.includes(`restored ${file}.1`), true, error);
    strictEqual(await Deno.readTextFile(file), good, "the live file is the previous config again");
    strictEqual(nginx.metrics.get("rollbacks_total"), 1);
    // The same config again (say, only a health-check comment changed): not retried.
    const workers = childPids(nginx.pid);
    const again = await nginx.backend.apply(fatal, { reload: true });
    strictEqual(again.kind, "invalid");
    const retired = [...workers].filter((w) => !childPids(nginx.pid).has(w));
    strictEqual(retired.length, 0, `workers ${retired} retired: reloaded again`);
    strictEqual(nginx.metrics.get("reloads_total"), 1, "the restore's reload only");
    strictEqual(nginx.metrics.get("rollbacks_total"), 1);
    // A new desired config is applied.
    strictEqual((await nginx.backend.apply(route(c.port), { reload: true })).kind, "applied");
    strictEqual((await httpGet(port, "/")).body, "c");
  } finally {
    await nginx.stop();
    await a.close();
    await b.close();
    await c.close();
  }
});

Deno.test("app: a config that kills nginx's workers is logged, counted and on /health as rolled back, and waits for a change", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  const config = { ...routeConfig(port, { pool: b.port }), context: FATAL };
  const { app, logger } = testApp(nginx, config, { updatePeriodSeconds: 0.2 });
  try {
    await app.start();
    await waitFor("the rollback", () => nginx.metrics.get("rollbacks_total") >= 1, 15_000);
    strictEqual((await httpGet(port, "/", { timeoutMs: 2000 })).body, "a");
    const log = logger.lines.join("\n");
    strictEqual(log.includes("still serving its previous config"), false, log);
    strictEqual(/no worker.*restored .*nginx\.conf\.1/.test(log), true, log);
    const health = app.healthProbe()();
    strictEqual(health.level, "degraded", JSON.stringify(health));
    strictEqual(health.lines.some((l) => l.includes("restored")), true, health.lines.join("\n"));
    // Several update periods later: that config was not tried again.
    const updates = app.updater.updates;
    await new Promise((r) => setTimeout(r, 1500));
    strictEqual(app.updater.updates, updates, "no retry of the same config");
    strictEqual(nginx.metrics.get("rollbacks_total"), 1);
    strictEqual((await httpGet(port, "/", { timeoutMs: 2000 })).body, "a");
  } finally {
    await app.stop();
    await nginx.stop();
    await a.close();
    await b.close();
  }
});
