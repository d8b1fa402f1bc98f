import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import type { HealthCheckConfig } from "../../lib/config/types.ts";
import type { Endpoint } from "../../lib/endpoint.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { ShareAdjuster } from "../../lib/share/adjuster.ts";
import { CheckScheduler } from "../../lib/share/check_scheduler.ts";
import { healthAdjuster } from "../../lib/share/health.ts";
import { startBackend } from "../helpers/backend.ts";
import { freePort, waitFor } from "../helpers/ports.ts";

const base: HealthCheckConfig = {
  kind: "http_health",
  path: "",
  route: "/health",
  interval: 0.2,
  timeout: 0.15,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  httpMethod: "GET",
};

function adjuster(endpoint: Endpoint, cfg: Partial<HealthCheckConfig> = {}) {
  const changes: number[] = [];
  const a = healthAdjuster({ ...base, ...cfg }, {
    endpoint,
    clock: systemClock,
    signal: () => changes.push(Date.now()),
  }, { scheduler: new CheckScheduler({ clock: systemClock }), logger: memoryLogger() });
  a.start();
  return { a, changes };
}

const ep = (port: number, ports: Record<string, number> = {}): Endpoint => ({
  host: "127.0.0.1",
  port,
  ports: { default: port, ...ports },
});
const healthy = (a: ShareAdjuster) => a.current().share === 1;

Deno.test("health check: a backend answering 500 leaves after unhealthy_threshold x interval and comes back", async () => {
  const b = await startBackend({ name: "a" });
  const { a } = adjuster(ep(b.port));
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    b.healthStatus = 500;
    const t0 = Date.now();
    await waitFor("unhealthy", () => !healthy(a), 3000);
    const took = Date.now() - t0;
    // 2 failures 0.2 s apart: between 1 and 2 intervals after the switch, plus scheduling slack.
    strictEqual(took >= 150 && took <= 1200, true, `took ${took} ms`);
    strictEqual(a.current().detail, "unhealthy (2 failure(s): status 500)");
    b.healthStatus = 200;
    await waitFor("healthy again", () => healthy(a), 3000);
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: a backend that stops listening is taken out", async () => {
  const b = await startBackend({ name: "a" });
  const { a } = adjuster(ep(b.port));
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    await b.close();
    await waitFor("unhealthy", () => !healthy(a), 3000);
    strictEqual(/connection refused|timeout/.test(a.current().detail), true, a.current().detail);
  } finally {
    a.stop();
  }
});

Deno.test("health check: http_method HEAD and GET reach the backend as such", async () => {
  const methods: string[] = [];
  const port = freePort();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    (req) => {
      methods.push(req.method);
      return new Response("ok");
    },
  );
  const head = adjuster(ep(port), { httpMethod: "HEAD" });
  try {
    await waitFor("healthy via HEAD", () => healthy(head.a), 3000);
    strictEqual(methods.every((m) => m === "HEAD"), true, methods.join(","));
    head.a.stop();
    methods.length = 0;
    const get = adjuster(ep(port), { httpMethod: "GET" });
    await waitFor("healthy via GET", () => healthy(get.a), 3000);
    get.a.stop();
    strictEqual(methods.every((m) => m === "GET"), true, methods.join(","));
  } finally {
    head.a.stop();
    ac.abort();
    await server.finished;
  }
});

Deno.test("health check: port_name checks the named port, not the traffic port", async () => {
  const traffic = await startBackend({ name: "traffic" });
  const health = await startBackend({ name: "health" });
  traffic.healthStatus = 500; // would fail if checked
  const { a } = adjuster(ep(traffic.port, { health: health.port }), { portName: "health" });
  try {
    await waitFor("healthy via the health port", () => healthy(a), 3000);
    health.healthStatus = 500;
    await waitFor("unhealthy via the health port", () => !healthy(a), 3000);
  } finally {
    a.stop();
    await traffic.close();
    await health.close();
  }
});

Deno.test("health check: an unresolvable host keeps its previous state", async () => {
  const { a, changes } = adjuster({ host: "nonexistent.invalid", port: 80, ports: {} });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    strictEqual(a.current().detail, "initializing 0/2");
    strictEqual(changes.length, 0);
  } finally {
    a.stop();
  }
});
