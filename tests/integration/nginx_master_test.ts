/**
 * Issue 8 A7 and A8: the pid file names the process aurproxy signals, and it is not to be
 * trusted. Only an nginx master running aurproxy's `configuration_file` (directly or
 * through a symlink) gets SIGHUP; anything else is reported with what to do.
 */

import { strictEqual } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { childPids, isAlive } from "../../lib/backends/nginx/process.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, runNginx } from "../../testing/nginx.ts";
import { freePort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

const route = (port: number, backend: number) =>
  snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [backend] }] }]);

/** A backend on a fresh dir with the config for `port` → `backend` written (no nginx yet). */
async function written(port: number, backend: number) {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-master-" });
  const options = nginxOptions(dir);
  const metrics = new MetricsRegistry("aurproxy");
  const nginx = new NginxBackend(options, { logger: memoryLogger(), metrics });
  strictEqual((await nginx.apply(route(port, backend), { reload: false })).kind, "applied");
  return { dir, options, nginx, metrics };
}

Deno.test("nginx: a pid file naming a process that is no nginx master: that process is never signalled", async () => {
  const port = freePort();
  const { dir, options, nginx } = await written(port, 1);
  const sleep = new Deno.Command("sleep", { args: ["300"], stdin: "null" }).spawn();
  try {
    await Deno.writeTextFile(options.pidPath, `${sleep.pid}\n`);
    const r = await nginx.apply(route(port, 2), { reload: true });
    await new Promise((r) => setTimeout(r, 200));
    strictEqual(isAlive(sleep.pid), true, "the sleep process got a signal and died");
    strictEqual(r.kind, "reload_failed", JSON.stringify(r));
    const error = r.kind === "reload_failed" ? r.error : "";
    strictEqual(error.includes(`pid ${sleep.pid}`), true, error);
    strictEqual(error.includes("not an nginx master"), true, error);
    strictEqual(error.includes("sleep 300"), true, error);
  } finally {
    try {
      sleep.kill("SIGKILL");
    } catch {
      // It died of the SIGHUP (the fault this test catches).
    }
    await sleep.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("nginx: nginx running another config file is not signalled, and what to do is said", async () => {
  const a = await startBackend({ name: "a" });
  const port = freePort();
  const { dir, options, nginx } = await written(port, a.port);
  // A stock nginx started on its own file (here: a copy), as README step 4 of the original.
  const other = `${dir}/etc-nginx/nginx.conf`;
  await Deno.mkdir(`${dir}/etc-nginx`);
  await Deno.copyFile(options.configurationFile, other);
  const proc = await runNginx({ ...options, configurationFile: other }, [port]);
  try {
    const workers = childPids(proc.pid);
    const r = await nginx.apply(route(port, 2), { reload: true });
    strictEqual(r.kind, "reload_failed", JSON.stringify(r));
    const error = r.kind === "reload_failed" ? r.error : "";
    strictEqual(error.includes(`nginx (pid ${proc.pid}) runs ${other}`), true, error);
    strictEqual(error.includes(`nginx -c ${options.configurationFile}`), true, error);
    strictEqual(error.includes(`ln -sf ${options.configurationFile} ${other}`), true, error);
    // A reload would have retired them (a worker still being forked may have joined).
    const retired = [...workers].filter((w) => !childPids(proc.pid).has(w));
    strictEqual(retired.length, 0, `workers ${retired} retired: nginx was signalled`);
    strictEqual((await httpGet(port, "/")).body, "a");
  } finally {
    await proc.stop();
    await Deno.remove(dir, { recursive: true });
    await a.close();
  }
});

Deno.test("nginx: nginx started on a symlink to configuration_file is ours: it is reloaded", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const { dir, options, nginx, metrics } = await written(port, a.port);
  // The original's image: /etc/nginx/nginx.conf -> /etc/aurproxy/nginx/nginx.conf.
  const link = `${dir}/etc-nginx/nginx.conf`;
  await Deno.mkdir(`${dir}/etc-nginx`);
  await Deno.symlink(options.configurationFile, link);
  const proc = await runNginx({ ...options, configurationFile: link }, [port]);
  try {
    strictEqual((await httpGet(port, "/")).body, "a");
    const r = await nginx.apply(route(port, b.port), { reload: true });
    strictEqual(r.kind, "applied", JSON.stringify(r));
    strictEqual((await httpGet(port, "/")).body, "b");
    strictEqual(metrics.get("reloads_total"), 1);
  } finally {
    await proc.stop();
    await Deno.remove(dir, { recursive: true });
    await a.close();
    await b.close();
  }
});
