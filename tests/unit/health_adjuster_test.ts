import { strictEqual } from "node:assert";
import type { HealthCheckConfig } from "../../lib/config/types.ts";
import { memoryLogger } from "../../lib/log.ts";
import { CheckScheduler } from "../../lib/share/check_scheduler.ts";
import { healthAdjuster } from "../../lib/share/health.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

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

/** A fetch that answers from a table, recording calls and their times. */
function fakeFetch(clock: FakeClock, answer: (url: string) => number | Error) {
  const calls: { url: string; method: string; at: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, method: init?.method ?? "GET", at: clock.now() });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await Promise.resolve();
    inFlight--;
    const a = answer(url);
    if (a instanceof Error) throw a;
    return new Response(null, { status: a });
  }) as typeof fetch;
  return { f, calls, max: () => maxInFlight };
}

Deno.test("health adjuster: checks the route with the configured method; status changes signal", async () => {
  const clock = new FakeClock();
  let status = 200;
  const { f, calls } = fakeFetch(clock, () => status);
  const scheduler = new CheckScheduler({ clock, random: () => 0 });
  let signals = 0;
  const a = healthAdjuster(cfg, {
    endpoint: { host: "10.0.0.1", port: 80, ports: {} },
    clock,
    signal: () => signals++,
  }, { scheduler, fetch: f, logger: memoryLogger() });
  a.start();
  strictEqual(a.current().share, 0);
  await clock.advance(0); // phase 0: the first check runs at once
  strictEqual(a.current().detail, "initializing 1/2");
  await clock.advance(1000);
  strictEqual(a.current().share, 1);
  strictEqual(signals, 1);
  strictEqual(calls[0].url, "http://10.0.0.1:80/health");
  strictEqual(calls[0].method, "HEAD");
  status = 503;
  await clock.advance(1000);
  strictEqual(a.current().share, 1, "one failure is not enough");
  await clock.advance(1000);
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "unhealthy (2 failure(s): status 503)");
  strictEqual(signals, 2);
  a.stop();
  strictEqual(clock.pending, 0, "stop leaves no timer");
});

Deno.test("health adjuster: port_name checks the named port", async () => {
  const clock = new FakeClock();
  const { f, calls } = fakeFetch(clock, () => 200);
  const scheduler = new CheckScheduler({ clock, random: () => 0 });
  const a = healthAdjuster({ ...cfg, portName: "health" }, {
    endpoint: { host: "10.0.0.1", port: 80, ports: { default: 80, health: 8081 } },
    clock,
    signal: () => {},
  }, { scheduler, fetch: f, logger: memoryLogger() });
  a.start();
  await clock.advance(1000);
  strictEqual(calls[0].url, "http://10.0.0.1:8081/health");
  a.stop();
  const missing = healthAdjuster({ ...cfg, portName: "admin" }, {
    endpoint: { host: "10.0.0.1", port: 80, ports: { default: 80 } },
    clock,
    signal: () => {},
  }, { scheduler, fetch: f, logger: memoryLogger() });
  missing.start();
  strictEqual(missing.current().share, 0);
  strictEqual(missing.current().detail, "no port named admin to check");
  missing.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("health adjuster: a DNS failure of ours leaves the status as it was", async () => {
  const clock = new FakeClock();
  let answer: number | Error = 200;
  const { f } = fakeFetch(clock, () => answer);
  const scheduler = new CheckScheduler({ clock, random: () => 0 });
  const a = healthAdjuster({ ...cfg, healthyThreshold: 1 }, {
    endpoint: { host: "web.internal", port: 80, ports: {} },
    clock,
    signal: () => {},
  }, { scheduler, fetch: f, logger: memoryLogger() });
  a.start();
  await clock.advance(1000);
  strictEqual(a.current().share, 1);
  answer = new TypeError("client error (Connect): dns error: failed to lookup address information");
  await clock.advance(10_000);
  strictEqual(a.current().share, 1);
  answer = new TypeError("client error (Connect): Connection refused (os error 111)");
  await clock.advance(2000);
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "unhealthy (2 failure(s): connection refused)");
  a.stop();
});

Deno.test("check scheduler: 2,000 endpoints are spread over the interval with bounded concurrency", async () => {
  const clock = new FakeClock();
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const scheduler = new CheckScheduler({ clock, maxConcurrent: 8, random });
  const starts: number[] = [];
  let running = 0;
  let maxRunning = 0;
  const removers: (() => void)[] = [];
  for (let i = 0; i < 2000; i++) {
    removers.push(scheduler.add({
      intervalMs: 1000,
      run: async () => {
        starts.push(clock.now());
        running++;
        maxRunning = Math.max(maxRunning, running);
        await Promise.resolve();
        running--;
      },
    }));
  }
  await clock.advance(999);
  strictEqual(starts.length, 2000, "each endpoint checked once per interval");
  const t0 = Math.min(...starts);
  const perMs = new Map<number, number>();
  for (const s of starts) perMs.set(s, (perMs.get(s) ?? 0) + 1);
  strictEqual(
    Math.max(...perMs.values()) <= 12,
    true,
    `too many checks in one ms: ${Math.max(...perMs.values())}`,
  );
  strictEqual(Math.max(...starts) - t0 > 900, true, "checks spread over most of the interval");
  strictEqual(maxRunning <= 8, true);
  for (const r of removers) r();
  strictEqual(clock.pending, 0);
});
