import { deepStrictEqual, strictEqual, throws } from "node:assert";
import type { HealthCheckConfig } from "../../lib/model/config.ts";
import type { Endpoint } from "../../lib/model/endpoint.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { CheckScheduler } from "../../lib/share/health/scheduler.ts";
import { adjusterFactory } from "../../lib/share/kinds.ts";
import { classifyFetchError, healthAdjuster } from "../../lib/share/health/adjuster.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const cfg: HealthCheckConfig = {
  kind: "http_health",
  path: "",
  route: "/health",
  interval: 1,
  timeout: 0.5,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
  httpMethod: "HEAD",
};

type Answer = number | Error | { status: number; afterMs: number };

interface Call {
  url: string;
  method: string;
  connection: string | null;
  at: number;
  signal: AbortSignal;
}

/**
 * A fetch answering from `answer(url)` after an optional delay on the fake clock. It
 * honours the abort signal like the real one, and tracks calls in flight.
 */
function fakeFetch(clock: FakeClock, answer: (url: string) => Answer) {
  const calls: Call[] = [];
  const state = { inFlight: 0, maxInFlight: 0, bodiesCancelled: 0 };
  const f = ((input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const signal = init!.signal!;
    calls.push({
      url,
      method: init?.method ?? "GET",
      connection: new Headers(init?.headers).get("connection"),
      at: clock.now(),
      signal,
    });
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    return new Promise<Response>((resolve, reject) => {
      const a = answer(url);
      const settle = () => {
        signal.removeEventListener("abort", onAbort);
        state.inFlight--;
        if (a instanceof Error) return reject(a);
        const status = typeof a === "number" ? a : a.status;
        const body = new ReadableStream({ cancel: () => void state.bodiesCancelled++ });
        resolve(new Response(status === 204 ? null : body, { status }));
      };
      const timer = typeof a === "object" && !(a instanceof Error)
        ? clock.setTimeout(settle, a.afterMs)
        : undefined;
      const onAbort = () => {
        if (timer !== undefined) clock.clearTimeout(timer);
        state.inFlight--;
        reject(new DOMException("The signal has been aborted", "AbortError"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (timer === undefined) queueMicrotask(settle);
    });
  }) as typeof fetch;
  return { f, calls, state };
}

const ep = (host = "10.0.0.1", port = 80, ports: Record<string, number> = {}): Endpoint => ({
  host,
  port,
  ports,
});

function setup(answer: (url: string) => Answer, opts: { maxConcurrent?: number } = {}) {
  const clock = new FakeClock();
  const fetcher = fakeFetch(clock, answer);
  const scheduler = new CheckScheduler({ clock, random: () => 0, ...opts });
  const metrics = new MetricsRegistry("t");
  const logger = memoryLogger();
  const make = (c: Partial<HealthCheckConfig> = {}, endpoint = ep()) => {
    const box = { signals: 0 };
    const a = healthAdjuster({ ...cfg, ...c }, {
      endpoint,
      clock,
      signal: () => box.signals++,
    }, { scheduler, fetch: fetcher.f, logger, metrics });
    return { a, box };
  };
  return { clock, scheduler, metrics, make, ...fetcher };
}

Deno.test("health adjuster: initializing -> healthy -> unhealthy, signalling each change", async () => {
  let status = 200;
  const { clock, calls, state, make, metrics } = setup(() => status);
  const { a, box } = make();
  a.start();
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "initializing 0/2");
  deepStrictEqual(a.current().state, {
    status: "initializing",
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
  });
  await clock.advance(0); // phase 0: the first check runs at once
  strictEqual(a.current().detail, "initializing 1/2");
  strictEqual(box.signals, 0);
  await clock.advance(1000);
  deepStrictEqual(a.current(), {
    name: "health",
    share: 1,
    detail: "healthy",
    state: {
      status: "healthy",
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
      lastResult: "success",
      lastCheckAt: clock.now(),
    },
  });
  strictEqual(box.signals, 1);
  deepStrictEqual(
    { url: calls[0].url, method: calls[0].method, connection: calls[0].connection },
    { url: "http://10.0.0.1:80/health", method: "HEAD", connection: "close" },
  );
  status = 503;
  await clock.advance(1000);
  strictEqual(a.current().share, 1, "one failure is not enough");
  strictEqual(a.current().detail, "healthy (1 failure: status 503)");
  await clock.advance(1000);
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "unhealthy (2 failures: status 503)");
  deepStrictEqual(a.current().state, {
    status: "unhealthy",
    consecutiveSuccesses: 0,
    consecutiveFailures: 2,
    healthyThreshold: 2,
    unhealthyThreshold: 2,
    lastResult: "failure",
    lastReason: "status 503",
    lastCheckAt: clock.now(),
  });
  strictEqual(box.signals, 2);
  strictEqual(calls.length, 4, "one check per interval");
  strictEqual(state.bodiesCancelled, 4, "every response body released");
  strictEqual(metrics.get("health_checks_total", { result: "success" }), 2);
  strictEqual(metrics.get("health_checks_total", { result: "failure" }), 2);
  strictEqual(metrics.get("health_endpoints", { status: "unhealthy" }), 1);
  strictEqual(metrics.get("health_endpoints", { status: "healthy" }), 0);
  a.stop();
  strictEqual(clock.pending, 0, "stop leaves no timer");
  strictEqual(metrics.get("health_endpoints", { status: "unhealthy" }), 0);
});

Deno.test("health adjuster: only 200 is a success", async () => {
  for (const status of [201, 204, 301, 302, 404, 500]) {
    const { clock, make } = setup(() => status);
    const { a } = make({ unhealthyThreshold: 1 });
    a.start();
    await clock.advance(0);
    strictEqual(a.current().detail, `unhealthy (1 failure: status ${status})`);
    a.stop();
  }
});

Deno.test("health adjuster: http_method GET is sent as such", async () => {
  const { clock, calls, make } = setup(() => 200);
  const { a } = make({ httpMethod: "GET" });
  a.start();
  await clock.advance(0);
  strictEqual(calls[0].method, "GET");
  a.stop();
});

Deno.test("health adjuster: port_name checks the named port; a missing one is never checked", async () => {
  const { clock, calls, make, metrics } = setup(() => 200);
  const { a } = make({ portName: "health" }, ep("10.0.0.1", 80, { default: 80, health: 8081 }));
  a.start();
  await clock.advance(0);
  strictEqual(calls[0].url, "http://10.0.0.1:8081/health");
  a.stop();

  const v6 = make({ portName: "health" }, ep("::1", 80, { health: 8081 }));
  v6.a.start();
  await clock.advance(1000);
  strictEqual(calls.at(-1)!.url, "http://[::1]:8081/health");
  v6.a.stop();

  const n = calls.length;
  const missing = make({ portName: "admin" }, ep("10.0.0.1", 80, { default: 80 }));
  missing.a.start();
  deepStrictEqual(missing.a.current(), {
    name: "health",
    share: 0,
    detail: 'initializing: endpoint has no port named "admin"',
    state: { status: "unchecked", missingPort: "admin" },
  });
  strictEqual(metrics.get("health_endpoints", { status: "unchecked" }), 1);
  await clock.advance(10_000);
  strictEqual(calls.length, n, "nothing to check");
  missing.a.stop();
  strictEqual(metrics.get("health_endpoints", { status: "unchecked" }), 0);
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: a DNS failure of ours leaves the status as it was", async () => {
  let answer: Answer = 200;
  const { clock, make, metrics } = setup(() => answer);
  const { a, box } = make({ healthyThreshold: 1 }, ep("web.internal"));
  a.start();
  await clock.advance(0);
  strictEqual(a.current().share, 1);
  answer = new TypeError("fetch failed", {
    cause: new Error(
      "client error (Connect): dns error: failed to lookup address information: Name or service not known",
    ),
  });
  await clock.advance(10_000);
  strictEqual(a.current().share, 1);
  strictEqual(a.current().detail, "healthy; last check inconclusive: cannot resolve host");
  deepStrictEqual(
    [a.current().state?.status, a.current().state?.lastResult, a.current().state?.lastReason],
    ["healthy", "inconclusive", "cannot resolve host"],
  );
  strictEqual(box.signals, 1);
  strictEqual(metrics.get("health_checks_total", { result: "inconclusive" }), 10);
  answer = new TypeError("fetch failed", {
    cause: new Error("client error (Connect): Connection refused (os error 111)"),
  });
  await clock.advance(2000);
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "unhealthy (2 failures: connection refused)");
  strictEqual(box.signals, 2);
  a.stop();
});

Deno.test("health adjuster: a check slower than timeout is a failure, and is aborted", async () => {
  const { clock, calls, make } = setup(() => ({ status: 200, afterMs: 800 }));
  const { a } = make({ unhealthyThreshold: 1 });
  a.start();
  await clock.advance(499);
  strictEqual(a.current().detail, "initializing 0/2");
  await clock.advance(1);
  strictEqual(a.current().detail, "unhealthy (1 failure: timeout after 500 ms)");
  strictEqual(calls[0].signal.aborted, true, "the request was cancelled");
  a.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: with timeout == interval every turn checks: unhealthy after threshold x interval", async () => {
  const { clock, calls, make } = setup(() => ({ status: 200, afterMs: 60_000 }));
  const { a, box } = make({ interval: 1, timeout: 1, unhealthyThreshold: 2 });
  const t0 = clock.now();
  a.start(); // phase 0: the first check starts at once
  await clock.advance(1999);
  strictEqual(a.current().detail, "initializing (1 failure: timeout after 1000 ms)");
  await clock.advance(1);
  strictEqual(a.current().detail, "unhealthy (2 failures: timeout after 1000 ms)");
  strictEqual(box.signals, 1);
  await clock.advance(2999);
  deepStrictEqual(calls.map((c) => c.at - t0), [0, 1000, 2000, 3000, 4000], "one check a second");
  a.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: stop aborts the check in flight, leaves no timer and ignores its result", async () => {
  const { clock, calls, state, make, metrics } = setup(() => ({ status: 200, afterMs: 300 }));
  const { a, box } = make({ healthyThreshold: 1 });
  a.start();
  await clock.advance(100);
  strictEqual(state.inFlight, 1);
  a.stop();
  strictEqual(clock.pending, 0, "no timer: neither the next turn nor the check's timeout");
  strictEqual(calls[0].signal.aborted, true);
  await clock.advance(5000);
  strictEqual(state.inFlight, 0);
  strictEqual(calls.length, 1);
  strictEqual(box.signals, 0);
  strictEqual(a.current().detail, "initializing 0/1");
  strictEqual(metrics.get("health_checks_total", { result: "success" }), 0);
  a.stop(); // idempotent
});

Deno.test("health adjuster: phases of many endpoints are distinct, within the interval and even", async () => {
  const clock = new FakeClock(1_700_000_000_123);
  const { f, calls } = fakeFetch(clock, () => 200);
  // Exact times (no ticks), to see the phases themselves.
  const scheduler = new CheckScheduler({ clock, random: () => 0.4, tickMs: 0 });
  const n = 200;
  const adjusters = Array.from({ length: n }, (_, i) =>
    healthAdjuster(cfg, {
      endpoint: ep(`10.0.${i >> 8}.${i & 255}`),
      clock,
      signal: () => {},
    }, { scheduler, fetch: f, logger: memoryLogger() }));
  const t0 = clock.now();
  for (const a of adjusters) a.start();
  await clock.advance(999);
  strictEqual(calls.length, n, "every endpoint checked once in the first interval");
  const starts = calls.map((c) => c.at - t0).sort((x, y) => x - y);
  strictEqual(new Set(starts).size, n, "no two endpoints share a start time");
  strictEqual(starts[0] >= 0 && starts.at(-1)! < 1000, true);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  const maxGap = Math.max(...gaps, 1000 - starts.at(-1)! + starts[0]);
  strictEqual(maxGap <= 3 * 1000 / n, true, `largest gap ${maxGap} ms for ${n} endpoints`);
  // The same phases in the next interval: each endpoint keeps its place.
  const first = new Map(calls.map((c) => [c.url, c.at]));
  await clock.advance(1000);
  for (const c of calls.slice(n)) strictEqual(c.at - first.get(c.url)!, 1000, c.url);
  for (const a of adjusters) a.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: 2,000 endpoints start in 10 ms ticks, ~20 at a time, never all at once", async () => {
  const clock = new FakeClock();
  const { f, calls } = fakeFetch(clock, () => 200);
  const scheduler = new CheckScheduler({ clock }); // the default ticks, as in production
  const adjusters = Array.from({ length: 2000 }, (_, i) =>
    healthAdjuster(cfg, {
      endpoint: ep(`10.1.${i >> 8}.${i & 255}`),
      clock,
      signal: () => {},
    }, { scheduler, fetch: f, logger: memoryLogger() }));
  const t0 = clock.now();
  for (const a of adjusters) a.start();
  await clock.advance(3000);
  strictEqual(clock.pending, 1, "one timer for 2,000 endpoints: one wake-up per tick");
  // Two whole intervals after the first: every endpoint exactly twice.
  const window = calls.filter((c) => c.at >= t0 + 1000 && c.at < t0 + 3000);
  const perEndpoint = new Map<string, number>();
  for (const c of window) perEndpoint.set(c.url, (perEndpoint.get(c.url) ?? 0) + 1);
  deepStrictEqual([perEndpoint.size, new Set(perEndpoint.values())], [2000, new Set([2])]);
  const perMs = new Map<number, number>();
  for (const c of window) perMs.set(c.at, (perMs.get(c.at) ?? 0) + 1);
  strictEqual(perMs.size, 200, "every 10 ms tick of the two intervals starts checks");
  const busiest = Math.max(...perMs.values());
  strictEqual(busiest <= 30, true, `${busiest} checks started in one millisecond`);
  for (const a of adjusters) a.stop();
  strictEqual(scheduler.size, 0);
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: the concurrency cap holds with slow endpoints, and every endpoint gets its turn", async () => {
  const { clock, calls, state, scheduler, make } = setup(
    () => ({ status: 200, afterMs: 400 }),
    { maxConcurrent: 4 },
  );
  const adjusters = Array.from({ length: 20 }, (_, i) => make({}, ep(`10.2.0.${i}`)).a);
  for (const a of adjusters) a.start();
  await clock.advance(1000);
  strictEqual(state.maxInFlight, 4, "the cap was reached and never passed");
  strictEqual(scheduler.maxInFlight, 4);
  strictEqual(scheduler.queued > 0, true, "the rest wait their turn");
  await clock.advance(4000);
  strictEqual(state.maxInFlight, 4);
  const checked = new Set(calls.map((c) => c.url));
  strictEqual(checked.size, 20, "nobody starved");
  // No endpoint has two checks in flight: each URL's checks start >= 400 ms apart.
  for (const url of checked) {
    const at = calls.filter((c) => c.url === url).map((c) => c.at);
    for (let i = 1; i < at.length; i++) strictEqual(at[i] - at[i - 1] >= 400, true, url);
  }
  for (const a of adjusters) a.stop();
  strictEqual(clock.pending, 0);
  strictEqual(scheduler.queued, 0);
  await clock.advance(1000);
  strictEqual(state.inFlight, 0, "every check in flight was aborted");
});

Deno.test("check scheduler: rejects a concurrency below 1 and a non-positive interval", () => {
  const clock = new FakeClock();
  throws(() => new CheckScheduler({ clock, maxConcurrent: 0 }), /maxConcurrent/);
  const s = new CheckScheduler({ clock });
  throws(() => s.add({ intervalMs: 0, run: () => Promise.resolve() }), /intervalMs/);
});

Deno.test("fetch errors: DNS is inconclusive, refused and reset are failures", () => {
  const deno = (msg: string) => new TypeError("fetch failed", { cause: new Error(msg) });
  deepStrictEqual(
    classifyFetchError(deno("client error (Connect): dns error: failed to lookup address")),
    { kind: "inconclusive", reason: "cannot resolve host" },
  );
  deepStrictEqual(
    classifyFetchError(deno("Temporary failure in name resolution")).kind,
    "inconclusive",
  );
  deepStrictEqual(
    classifyFetchError(deno("client error (Connect): Connection refused (os error 111)")),
    { kind: "failure", reason: "connection refused" },
  );
  deepStrictEqual(
    classifyFetchError(deno("connection error: Connection reset by peer (os error 104)")),
    { kind: "failure", reason: "connection reset" },
  );
  strictEqual(classifyFetchError(new Error("something\nodd")).kind, "failure");
});

Deno.test("adjuster factory: builds each kind and declares the check counters", () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("t");
  const deps = {
    clock,
    scheduler: new CheckScheduler({ clock }),
    logger: memoryLogger(),
    metrics,
    fetch: fakeFetch(clock, () => 200).f,
  };
  const ctx = { endpoint: ep(), clock, signal: () => {} };
  const health = adjusterFactory(cfg, deps)(ctx);
  strictEqual(metrics.prometheus().includes('t_health_checks_total{result="failure"} 0'), true);
  const ramp = adjusterFactory({
    kind: "ramp",
    path: "",
    rampDelay: 0,
    rampSeconds: 10,
    updateFrequency: 1,
    curve: "linear",
    minShare: 0,
  }, deps)(ctx);
  const delay = adjusterFactory({ kind: "delay_start", path: "", seconds: 5 }, deps)(ctx);
  deepStrictEqual([health, ramp, delay].map((a) => a.current().name), ["health", "ramp", "delay"]);
  for (const a of [health, ramp, delay]) a.start();
  for (const a of [health, ramp, delay]) a.stop();
  strictEqual(clock.pending, 0);
});
