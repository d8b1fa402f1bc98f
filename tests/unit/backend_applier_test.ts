import { deepStrictEqual, strictEqual } from "node:assert";
import type { ApplyResult, ProxyBackend, ProxyProcessStatus } from "../../lib/backends/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { BackendApplier } from "../../lib/pipeline/backend_applier.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { snapshot } from "../../testing/snapshots.ts";

/** A backend answering each apply with the next scripted result. */
function scripted(results: ApplyResult[], status?: () => ProxyProcessStatus): ProxyBackend {
  return {
    name: "scripted",
    render: () => "",
    validate: () => Promise.resolve({ ok: true }),
    apply: () => Promise.resolve(results.shift() ?? { kind: "unchanged" }),
    ...(status ? { status } : {}),
  };
}

Deno.test("backend applier: counts outcomes, remembers the confirmed snapshot and since when applies fail", async () => {
  const clock = new FakeClock();
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const applier = new BackendApplier(
    scripted([
      { kind: "applied", reloaded: true, durationMs: 5 },
      { kind: "reload_failed", error: "nginx is not running" },
      { kind: "invalid", error: 'invalid number "lots"' },
    ]),
    { clock, logger, metrics },
  );
  const health = applier.healthProbe();
  const s1 = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [1] }] }]);
  const s2 = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [2] }] }]);
  strictEqual((await applier.apply(s1)).kind, "applied");
  strictEqual(applier.appliedSnapshot(), s1);
  deepStrictEqual(health(), { level: "ok", lines: [] });
  strictEqual((await applier.apply(s2)).kind, "reload_failed");
  await clock.advance(30_000);
  strictEqual((await applier.apply(s2)).kind, "invalid");
  strictEqual(applier.appliedSnapshot(), s1, "still the last confirmed one");
  deepStrictEqual(health(), {
    level: "degraded",
    lines: ['proxy update failing for 30s (previous config still live): invalid number "lots"'],
  });
  strictEqual((await applier.apply(s2)).kind, "unchanged");
  strictEqual(applier.appliedSnapshot(), s2);
  strictEqual(health().level, "ok");
  strictEqual(metrics.get("update_attempts_total"), 4);
  strictEqual(metrics.get("update_successes_total"), 2);
  strictEqual(metrics.get("update_failures_total"), 2);
  strictEqual(metrics.get("update_unchanged_total"), 1);
  strictEqual(logger.lines.filter((l) => l.includes("ERROR")).length, 2);
});

Deno.test("backend applier: a supervised proxy's state is part of health; only a given-up proxy fails it", () => {
  let state: ProxyProcessStatus = { state: "running", pid: 7, restarts: 0, detail: "pid 7" };
  const applier = new BackendApplier(scripted([], () => state), {
    clock: new FakeClock(),
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
  });
  const health = applier.healthProbe();
  strictEqual(health().level, "ok");
  state = { state: "restarting", restarts: 1, detail: "exited with code 1, restarting in 1s" };
  deepStrictEqual(health(), {
    level: "degraded",
    lines: ["scripted restarting: exited with code 1, restarting in 1s"],
  });
  state = { state: "failed", restarts: 5, detail: "exited 5 times in 60s, not restarted" };
  strictEqual(health().level, "failed");
});

Deno.test("backend applier: the backend's own view of the proxy comes first; a refused config never fails health, retryable failures past the threshold do", async () => {
  const clock = new FakeClock();
  let seen = { level: "ok" as "ok" | "failed", lines: [] as string[] };
  const backend: ProxyBackend = {
    ...scripted([
      { kind: "invalid", error: "rolled back" },
      { kind: "error", error: "No space left on device" },
      { kind: "error", error: "No space left on device" },
    ]),
    health: () => seen,
  };
  const applier = new BackendApplier(backend, {
    clock,
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
    updateFailureThresholdMs: 10_000,
  });
  const health = applier.healthProbe();
  const s = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [1] }] }]);
  await applier.apply(s);
  await clock.advance(60_000);
  strictEqual(health().level, "degraded", "a refused config: a restart would render it again");
  await applier.apply(s);
  await clock.advance(9_000);
  strictEqual(health().level, "degraded");
  await clock.advance(2_000);
  await applier.apply(s);
  deepStrictEqual(health(), {
    level: "failed",
    lines: ["proxy update failing for 71s (longer than 10s): No space left on device"],
  });
  seen = { level: "failed", lines: ["nginx is not running"] };
  strictEqual(health().lines[0], "nginx is not running");
});

Deno.test("backend applier: the same failure again within a minute is logged at debug, not as an error", async () => {
  const clock = new FakeClock();
  const logger = memoryLogger();
  const failed: ApplyResult = { kind: "reload_failed", error: "nginx is not running" };
  const applier = new BackendApplier(scripted([failed, failed, failed, failed]), {
    clock,
    logger,
    metrics: new MetricsRegistry("aurproxy"),
  });
  const s = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [1] }] }]);
  for (let i = 0; i < 3; i++) {
    await applier.apply(s);
    await clock.advance(2_000);
  }
  const errors = () => logger.lines.filter((l) => l.includes("ERROR")).length;
  strictEqual(errors(), 1);
  strictEqual(logger.lines.filter((l) => l.includes("DEBUG")).length, 2);
  await clock.advance(60_000);
  await applier.apply(s);
  strictEqual(errors(), 2, "logged again after a minute");
});
