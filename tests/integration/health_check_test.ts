/**
 * Health checks against real HTTP servers on loopback, with the real clock and the raw
 * HTTP probe used in production. Intervals are 0.2 s so each test takes about a second.
 * Time bounds follow the promise made to users: out within unhealthy_threshold x interval
 * (+ 1 s), back within healthy_threshold x interval (+ 1 s); a backend that only stops
 * accepting new connections, within (REDIAL_EVERY - 1 + unhealthy_threshold) x interval
 * (+ 1 s), since its kept-alive connection may pass until the next redial.
 */

import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import type { HealthCheckConfig } from "../../lib/model/config.ts";
import type { Endpoint } from "../../lib/model/endpoint.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { ShareAdjuster } from "../../lib/share/adjuster.ts";
import { CheckScheduler } from "../../lib/share/health/scheduler.ts";
import { healthAdjuster, type HealthDeps } from "../../lib/share/health/adjuster.ts";
import { REDIAL_EVERY } from "../../lib/share/health/probe.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import {
  startBackend,
  startKeepAliveBackend,
  startUnansweredListener,
} from "../../testing/backend.ts";
import { freePort, waitFor } from "../../testing/ports.ts";

const INTERVAL_MS = 200;
/** What users are promised, with threshold 2: out (or back) within 2 x interval + 1 s. */
const BOUND_MS = 2 * INTERVAL_MS + 1000;
const base: HealthCheckConfig = {
  kind: "http_health",
  path: "",
  route: "/health",
  interval: INTERVAL_MS / 1000,
  timeout: 0.15,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  httpMethod: "GET",
};

/** A started health adjuster; `changes` holds the time of each signal. */
function checked(
  endpoint: Endpoint,
  cfg: Partial<HealthCheckConfig> = {},
  deps: Partial<HealthDeps> = {},
) {
  const changes: number[] = [];
  const a = healthAdjuster({ ...base, ...cfg }, {
    endpoint,
    clock: systemClock,
    signal: () => changes.push(Date.now()),
  }, {
    scheduler: new CheckScheduler({ clock: systemClock }),
    logger: memoryLogger(),
    ...deps,
  });
  a.start();
  return { a, changes };
}

const ep = (port: number, ports: Record<string, number> = {}): Endpoint => ({
  host: "127.0.0.1",
  port,
  ports: { default: port, ...ports },
});
const healthy = (a: ShareAdjuster) => a.current().share === 1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A server recording the method, path and arrival time of each request; `hold` makes it
 * answer only at close.
 */
function recordingServer(opts: { hold?: boolean } = {}) {
  const methods: string[] = [];
  const arrivals: { path: string; at: number }[] = [];
  const port = freePort();
  const ac = new AbortController();
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    async (req) => {
      methods.push(req.method);
      arrivals.push({ path: new URL(req.url).pathname, at: performance.now() });
      if (opts.hold) await released;
      return new Response("ok");
    },
  );
  return {
    port,
    methods,
    arrivals,
    close: async () => {
      release();
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("health check: a backend answering 500 leaves after unhealthy_threshold x interval, and comes back", async () => {
  const b = await startBackend({ name: "a" });
  const { a, changes } = checked(ep(b.port));
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    strictEqual(a.current().detail, "healthy");
    b.healthStatus = 500;
    const failingFrom = Date.now();
    await waitFor("unhealthy", () => !healthy(a), 3000);
    // The first failing check comes within one interval, the second one interval later.
    const down = changes.at(-1)! - failingFrom;
    strictEqual(down >= INTERVAL_MS - 50 && down <= 2 * INTERVAL_MS + 300, true, `took ${down} ms`);
    strictEqual(a.current().detail, "unhealthy (2 failures: status 500)");
    strictEqual(changes.length, 2, "one signal per status change");

    b.healthStatus = 200;
    const passingFrom = Date.now();
    await waitFor("healthy again", () => healthy(a), 3000);
    const up = changes.at(-1)! - passingFrom;
    strictEqual(up >= INTERVAL_MS - 50 && up <= 2 * INTERVAL_MS + 300, true, `took ${up} ms`);
    strictEqual(changes.length, 3);
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: a backend that stops listening is taken out in time, and back once it listens again", async () => {
  const b = await startBackend({ name: "a" });
  const { a, changes } = checked(ep(b.port));
  let again: Awaited<ReturnType<typeof startBackend>> | undefined;
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    await b.close();
    const closedAt = Date.now();
    await waitFor("unhealthy", () => !healthy(a), BOUND_MS + 1000);
    const down = changes.at(-1)! - closedAt;
    strictEqual(down <= BOUND_MS, true, `out ${down} ms after it stopped listening`);
    strictEqual(a.current().detail, "unhealthy (2 failures: connection refused)");

    again = await startBackend({ name: "a", port: b.port });
    const listeningAt = Date.now();
    await waitFor("healthy again", () => healthy(a), BOUND_MS + 1000);
    const up = changes.at(-1)! - listeningAt;
    strictEqual(up <= BOUND_MS, true, `back ${up} ms after it listened again`);
    strictEqual(a.current().detail, "healthy");
  } finally {
    a.stop();
    await again?.close();
  }
});

Deno.test("health check: checks reuse a kept-alive connection, a new one every REDIAL_EVERY checks", async () => {
  const b = startKeepAliveBackend();
  const { a } = checked(ep(b.port), { interval: 0.05, timeout: 0.04 });
  try {
    await waitFor("20 checks", () => b.requests.length >= 2 * REDIAL_EVERY, 5000, 2);
    const requests = b.requests.length;
    const connections = b.connections;
    const expected = Math.ceil(requests / REDIAL_EVERY);
    strictEqual(
      connections === expected || connections === expected + 1, // the next check's dial
      true,
      `${requests} checks on ${connections} connections`,
    );
    strictEqual(a.current().detail, "healthy");
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: a backend that stops accepting but still serves its open connections is out within (REDIAL_EVERY - 1 + unhealthy_threshold) checks", async () => {
  // What nginx sees is a refused connection, whatever old connections still answer.
  const redialEvery = 4;
  const b = startKeepAliveBackend();
  const { a, changes } = checked(ep(b.port), {}, { redialEvery });
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    // The worst case: the listener closes just after the probe dialled a new connection.
    await waitFor("the second connection", () => b.connections === 2, 3000, 1);
    b.stopAccepting();
    const stoppedAt = Date.now();
    const servedBefore = b.requests.length;
    await waitFor("unhealthy", () => !healthy(a), 5000);
    const down = changes.at(-1)! - stoppedAt;
    const checks = redialEvery - 1 + base.unhealthyThreshold;
    strictEqual(
      down <= checks * INTERVAL_MS + 1000,
      true,
      `out ${down} ms after it stopped accepting`,
    );
    // Not at once: the kept connection really carried the checks until the redial.
    strictEqual(
      b.requests.length - servedBefore >= redialEvery - 1,
      true,
      `${b.requests.length - servedBefore} checks served on the kept connection`,
    );
    strictEqual(down >= (checks - 1) * INTERVAL_MS - 100, true, `out after ${down} ms only`);
    strictEqual(a.current().detail, "unhealthy (2 failures: connection refused)");
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: a kept connection the backend closes while idle never counts as a failure", async () => {
  // The backend's keep-alive timeout is shorter than the interval: every reuse finds the
  // connection closed.
  const b = startKeepAliveBackend({ idleTimeoutMs: INTERVAL_MS / 2 });
  const metrics = new MetricsRegistry("t");
  const { a, changes } = checked(ep(b.port), {}, { metrics });
  try {
    await waitFor("8 checks", () => b.requests.length >= 8, 5000);
    strictEqual(a.current().detail, "healthy");
    strictEqual(changes.length, 1, "healthy once, never a change since");
    strictEqual(metrics.get("health_checks_total", { result: "failure" }), 0);
    strictEqual(
      b.connections >= 7,
      true,
      `${b.connections} connections: the reuse found them closed`,
    );
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: stopping the adjuster closes its kept connection", async () => {
  const b = startKeepAliveBackend();
  const { a } = checked(ep(b.port));
  try {
    await waitFor("healthy", () => healthy(a), 3000);
    strictEqual(b.open, 1);
    a.stop();
    await waitFor("the backend saw the connection close", () => b.open === 0, 2000, 5);
  } finally {
    a.stop();
    await b.close();
  }
});

Deno.test("health check: endpoints whose SYNs go unanswered time out and do not hold up the others", async () => {
  // More hung endpoints than the scheduler has slots: each connect must end at its timeout.
  const hungPort = await startUnansweredListener();
  const b = await startBackend({ name: "a" });
  const scheduler = new CheckScheduler({ clock: systemClock, maxConcurrent: 64 });
  const make = (port: number) =>
    healthAdjuster(base, { endpoint: ep(port), clock: systemClock, signal: () => {} }, {
      scheduler,
      logger: memoryLogger(),
    });
  const hung = Array.from({ length: 70 }, () => make(hungPort.port));
  const answering = make(b.port);
  try {
    for (const a of hung) a.start();
    answering.start();
    const t0 = Date.now();
    await waitFor("the answering endpoint healthy", () => healthy(answering), BOUND_MS + 1000);
    await waitFor(
      "every hung endpoint unhealthy",
      () => hung.every((a) => a.current().detail.startsWith("unhealthy")),
      BOUND_MS + 1000,
    );
    const took = Date.now() - t0;
    strictEqual(took <= BOUND_MS, true, `took ${took} ms`);
    // The first ones out may have failed once more while the last ones caught up.
    const detail = hung[0].current().detail;
    strictEqual(/^unhealthy \([23] failures: timeout after 150 ms\)$/.test(detail), true, detail);
  } finally {
    for (const a of [...hung, answering]) a.stop();
    hungPort.close();
    await b.close();
  }
});

Deno.test("health check: a backend slower than timeout is taken out; stop mid-check leaves nothing behind", async () => {
  const slow = recordingServer({ hold: true });
  const { a } = checked(ep(slow.port), { healthyThreshold: 1 });
  try {
    await waitFor("unhealthy", () => a.current().detail.startsWith("unhealthy"), 3000);
    strictEqual(a.current().detail, "unhealthy (2 failures: timeout after 150 ms)");
    // Stop while a check is waiting on the server: the sanitizers fail this test if a
    // timer, a request or a connection outlives it.
    const n = slow.methods.length;
    await waitFor("a check in flight", () => slow.methods.length > n, 3000, 5);
    a.stop();
  } finally {
    a.stop();
    await slow.close();
  }
});

Deno.test("health check: http_method HEAD and GET reach the backend as such", async () => {
  const server = recordingServer();
  try {
    const head = checked(ep(server.port), { httpMethod: "HEAD" });
    await waitFor("healthy via HEAD", () => healthy(head.a), 3000);
    head.a.stop();
    strictEqual(server.methods.length >= 2, true);
    strictEqual(server.methods.every((m) => m === "HEAD"), true, server.methods.join(","));
    server.methods.length = 0;
    const get = checked(ep(server.port), { httpMethod: "GET" });
    await waitFor("healthy via GET", () => healthy(get.a), 3000);
    get.a.stop();
    strictEqual(server.methods.length >= 2, true);
    strictEqual(server.methods.every((m) => m === "GET"), true, server.methods.join(","));
  } finally {
    await server.close();
  }
});

Deno.test("health check: port_name checks the named port, not the traffic port", async () => {
  const traffic = await startBackend({ name: "traffic" });
  const health = await startBackend({ name: "health" });
  traffic.healthStatus = 500; // would fail if it were checked
  const { a } = checked(ep(traffic.port, { health: health.port }), { portName: "health" });
  try {
    await waitFor("healthy via the health port", () => healthy(a), 3000);
    health.healthStatus = 503;
    await waitFor("unhealthy via the health port", () => !healthy(a), 3000);
    strictEqual(a.current().detail, "unhealthy (2 failures: status 503)");
  } finally {
    a.stop();
    await traffic.close();
    await health.close();
  }
});

Deno.test("health check: an unresolvable host keeps its previous state", async () => {
  // A lookup slower than the timeout counts as a timeout: on a loaded machine the
  // resolver's thread can take longer than 150 ms, so this test allows it 500 ms.
  const { a, changes } = checked({ host: "nonexistent.invalid", port: 80, ports: {} }, {
    interval: 0.5,
    timeout: 0.5,
  });
  try {
    await sleep(2100); // 4 checks: past unhealthy_threshold
    strictEqual(
      a.current().detail,
      "initializing 0/2; last check inconclusive: cannot resolve host",
    );
    strictEqual(a.current().share, 0);
    strictEqual(changes.length, 0, "no status change");
  } finally {
    a.stop();
  }
});

Deno.test("health check: one scheduler checks many real endpoints spread over the interval", async () => {
  const server = recordingServer();
  const scheduler = new CheckScheduler({ clock: systemClock, maxConcurrent: 4 });
  const n = 20;
  const adjusters = Array.from(
    { length: n },
    (_, i) =>
      healthAdjuster({ ...base, route: `/health/${i}` }, {
        endpoint: ep(server.port),
        clock: systemClock,
        signal: () => {},
      }, { scheduler, logger: memoryLogger() }),
  );
  try {
    const t0 = performance.now();
    for (const a of adjusters) a.start();
    await waitFor("all healthy", () => adjusters.every(healthy), 3000);
    strictEqual(scheduler.maxInFlight <= 4, true);
    // When each endpoint's first check reached it, relative to the start.
    const first = new Map<string, number>();
    for (const { path, at } of server.arrivals) if (!first.has(path)) first.set(path, at - t0);
    const starts = [...first.values()].sort((x, y) => x - y);
    strictEqual(starts.length, n);
    strictEqual(
      starts.at(-1)! < INTERVAL_MS + 50,
      true,
      `all within the first interval: ${starts}`,
    );
    // Evenly over the interval: 20 phases cover ~95 % of it, ~10 ms apart.
    const span = starts.at(-1)! - starts[0];
    strictEqual(span >= 0.6 * INTERVAL_MS, true, `spread over ${span} ms only: ${starts}`);
    const busiest = Math.max(
      ...starts.map((s) => starts.filter((t) => t >= s && t < s + 10).length),
    );
    strictEqual(busiest <= 4, true, `${busiest} first checks within 10 ms: ${starts}`);
  } finally {
    for (const a of adjusters) a.stop();
    await server.close();
  }
});
