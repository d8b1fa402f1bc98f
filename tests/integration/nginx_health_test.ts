/**
 * Issue 8 A6, A7, A8, A10 as Aurora sees them: `GET /health` on the management port of
 * `aurproxy run`, beside a real nginx started as operators do (the three-process layout).
 * Aurora reads the body: the original's `Health checks failed: <reason>` (status 200)
 * when restarting the task is the remedy (nginx not running, running another config,
 * updates failing for longer than the threshold); `OK` while nginx serves and a restart
 * would not help, the reason then in the `x-aurproxy-health` headers and /health/details.
 */

import { strictEqual } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { isAlive } from "../../lib/backends/nginx/process.ts";
import { memoryLogger } from "../../lib/log.ts";
import { BackendApplier } from "../../lib/pipeline/backend_applier.ts";
import { nginxKeys, type Stack, startStack } from "../../testing/aurproxy_stack.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { httpGet } from "../../testing/http.ts";
import { runNginx, startNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

interface Ctx {
  stack: Stack;
  dir: string;
  port: number;
  web: TestBackend;
  conf: string;
}

async function withStack(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const web = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-health-" });
  const port = freePort();
  const keys = nginxKeys(dir);
  const stack = await startStack({
    dir,
    config: {
      backend: "nginx",
      ...keys,
      servers: [{
        ports: [port],
        routes: [{
          locations: ["/"],
          sources: [{ source_class: "static", name: "web", host: "127.0.0.1", port: web.port }],
        }],
      }],
    },
    proxyPorts: [port],
    flags: ["--update-period=0.3", "--max-update-frequency=0"],
  });
  try {
    await waitFor(
      "the first update",
      async () => (await stack.metrics())["aurproxy.update_successes"] >= 1,
    );
    strictEqual((await health(stack)).body, "OK");
    await fn({ stack, dir, port, web, conf: keys.configuration_file });
  } finally {
    await stack.stop();
    await Deno.remove(dir, { recursive: true });
    await web.close();
  }
}

async function health(stack: Stack) {
  const r = await httpGet(stack.mgmtPort, "/health");
  const details = await httpGet(stack.mgmtPort, "/health/details");
  return {
    status: r.status,
    body: r.body,
    level: r.headers["x-aurproxy-health"],
    details: details.body,
  };
}

Deno.test("health: nginx's master killed with -9 fails /health with the original's text, though its orphaned workers still serve", async () => {
  await withStack(async ({ stack, port }) => {
    Deno.kill(stack.nginx.pid, "SIGKILL");
    await waitFor("the master gone", () => !isAlive(stack.nginx.pid));
    strictEqual((await httpGet(port, "/")).body, "web", "orphaned workers still answer");
    const h = await health(stack);
    strictEqual(h.status, 200);
    strictEqual(h.body.startsWith("Health checks failed: nginx is not running"), true, h.body);
    strictEqual(h.body.includes("worker"), true, `orphaned workers not mentioned: ${h.body}`);
    strictEqual(h.body.includes("\n"), false, "one line");
  });
});

Deno.test("health: nginx running another config file fails /health and says what to do", async () => {
  await withStack(async ({ stack, dir, port, conf }) => {
    await stack.nginx.stop();
    const other = `${dir}/etc-nginx/nginx.conf`;
    await Deno.mkdir(`${dir}/etc-nginx`);
    await Deno.copyFile(conf, other);
    const proc = await runNginx({
      configurationFile: other,
      pidPath: `${dir}/nginx.pid`,
      binary: "nginx",
      prefix: dir,
    }, [port]);
    try {
      const h = await health(stack);
      strictEqual(h.body.startsWith("Health checks failed: "), true, h.body);
      strictEqual(h.body.includes(`runs ${other}`), true, h.body);
      strictEqual(h.body.includes(`nginx -c ${conf}`), true, h.body);
    } finally {
      await proc.stop();
    }
  });
});

Deno.test("health: a pid file naming another process fails /health; that process is left alone", async () => {
  await withStack(async ({ stack, dir }) => {
    const sleep = new Deno.Command("sleep", { args: ["300"], stdin: "null" }).spawn();
    try {
      await Deno.writeTextFile(`${dir}/nginx.pid`, `${sleep.pid}\n`);
      const h = await health(stack);
      strictEqual(h.body.startsWith("Health checks failed: "), true, h.body);
      strictEqual(
        h.body.includes(`pid ${sleep.pid}`) && h.body.includes("not an nginx master"),
        true,
        h.body,
      );
      strictEqual(isAlive(sleep.pid), true);
    } finally {
      sleep.kill("SIGKILL");
      await sleep.status;
      // The real master's pid back, for the stack's stop.
      await Deno.writeTextFile(`${dir}/nginx.pid`, `${stack.nginx.pid}\n`);
    }
  });
});

Deno.test("health: a hand-deleted nginx.conf is said on /health (still OK: nginx serves) and rewritten at the next update period", async () => {
  await withStack(async ({ stack, conf, port }) => {
    const text = await Deno.readTextFile(conf);
    const reloads = (await stack.metrics())["aurproxy.reloads"];
    await Deno.remove(conf);
    const h = await health(stack);
    strictEqual(h.body, "OK", "nginx serves what it loaded: a restart is not the remedy");
    strictEqual(h.level, "degraded");
    strictEqual(h.details.includes(`${conf} is missing`), true, h.details);
    await waitFor("the file rewritten", () => Deno.readTextFile(conf).catch(() => ""), 3000);
    strictEqual(await Deno.readTextFile(conf), text);
    strictEqual((await stack.metrics())["aurproxy.reloads"], reloads, "no reload for it");
    await waitFor("health ok again", async () => (await health(stack)).level === "ok");
    strictEqual((await httpGet(port, "/")).body, "web");
  });
});

Deno.test("health: proxy updates failing for longer than the threshold fail /health; before, and once they pass, it is OK", async () => {
  const a = await startBackend({ name: "a" });
  const port = freePort();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  try {
    const clock = new FakeClock();
    const logger = memoryLogger();
    const backend = new NginxBackend(nginx.options, {
      logger,
      metrics: nginx.metrics,
      reloadTimeoutMs: 1000,
    });
    const applier = new BackendApplier(backend, {
      clock,
      logger,
      metrics: nginx.metrics,
      updateFailureThresholdMs: 60_000,
    });
    // nginx -t passes, but the master cannot bind the second port at reload: it keeps its
    // previous config, and every retry fails the same way until the port is free.
    const bad = snapshot([
      { ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] },
      {
        ports: [(taken.addr as Deno.NetAddr).port],
        routes: [{ locations: ["/"], ports: [a.port] }],
      },
    ]);
    strictEqual((await applier.apply(bad)).kind, "reload_failed");
    strictEqual(applier.healthProbe()().level, "degraded");
    await clock.advance(59_000);
    strictEqual((await applier.apply(bad)).kind, "reload_failed");
    strictEqual(applier.healthProbe()().level, "degraded");
    await clock.advance(2_000);
    const failing = applier.healthProbe()();
    strictEqual(failing.level, "failed", JSON.stringify(failing));
    strictEqual(
      failing.lines[0].startsWith("proxy update failing for 61s (longer than 60s)"),
      true,
      failing.lines[0],
    );
    taken.close();
    strictEqual((await applier.apply(bad)).kind, "applied");
    strictEqual(applier.healthProbe()().level, "ok");
  } finally {
    try {
      taken.close();
    } catch {
      // Closed above.
    }
    await nginx.stop();
    await a.close();
  }
});
