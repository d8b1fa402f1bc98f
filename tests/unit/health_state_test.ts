import { deepStrictEqual, strictEqual } from "node:assert";
import {
  type CheckResult,
  describeHealth,
  healthAfter,
  healthData,
  healthShare,
  type HealthState,
  INITIAL_HEALTH,
  nextHealth,
  type Thresholds,
} from "../../lib/share/health/state.ts";

const t: Thresholds = { healthyThreshold: 2, unhealthyThreshold: 3 };
const ok: CheckResult = { kind: "success" };
const fail: CheckResult = { kind: "failure", reason: "status 500" };
const refused: CheckResult = { kind: "failure", reason: "connection refused" };
const dns: CheckResult = { kind: "inconclusive", reason: "cannot resolve host" };

/** Every intermediate state of a sequence, from `from`. */
function trace(results: CheckResult[], from: HealthState = INITIAL_HEALTH): HealthState[] {
  const out: HealthState[] = [];
  let s = from;
  for (const r of results) out.push(s = nextHealth(s, r, t));
  return out;
}

const statuses = (xs: HealthState[]) => xs.map((s) => s.status).join(",");
const shares = (xs: HealthState[]) => xs.map(healthShare).join(",");

Deno.test("health state: a new endpoint is initializing with share 0", () => {
  strictEqual(INITIAL_HEALTH.status, "initializing");
  strictEqual(healthShare(INITIAL_HEALTH), 0);
  strictEqual(describeHealth(INITIAL_HEALTH, t), "initializing 0/2");
});

Deno.test("health state: healthy (share 1) after healthy_threshold consecutive successes", () => {
  const s = trace([ok, ok, ok]);
  strictEqual(statuses(s), "initializing,healthy,healthy");
  strictEqual(shares(s), "0,1,1");
  strictEqual(describeHealth(s[0], t), "initializing 1/2");
  strictEqual(describeHealth(s[1], t), "healthy");
});

Deno.test("health state: a failure resets the success streak while initializing", () => {
  const s = trace([ok, fail, ok, ok]);
  strictEqual(statuses(s), "initializing,initializing,initializing,healthy");
  strictEqual(describeHealth(s[1], t), "initializing (1 failure: status 500)");
});

Deno.test("health state: unhealthy after unhealthy_threshold consecutive failures, not before", () => {
  const healthy = healthAfter([ok, ok], t);
  const s = trace([fail, fail, ok, fail, fail, fail], healthy);
  strictEqual(statuses(s), "healthy,healthy,healthy,healthy,healthy,unhealthy");
  strictEqual(shares(s), "1,1,1,1,1,0");
  strictEqual(describeHealth(s[1], t), "healthy (2 failures: status 500)");
  strictEqual(describeHealth(s[5], t), "unhealthy (3 failures: status 500)");
});

Deno.test("health state: the latest failure's reason is the one reported", () => {
  const s = healthAfter([ok, ok, fail, fail, refused], t);
  strictEqual(s.status, "unhealthy");
  strictEqual(describeHealth(s, t), "unhealthy (3 failures: connection refused)");
});

Deno.test("health state: back to healthy after healthy_threshold successes, one is not enough", () => {
  const down = healthAfter([ok, ok, fail, fail, fail], t);
  const s = trace([ok, fail, ok, ok], down);
  strictEqual(statuses(s), "unhealthy,unhealthy,unhealthy,healthy");
  strictEqual(describeHealth(s[0], t), "unhealthy, recovering 1/2");
  strictEqual(describeHealth(s[1], t), "unhealthy (1 failure: status 500)");
});

Deno.test("health state: an endpoint that never comes up is reported unhealthy", () => {
  strictEqual(statuses(trace([fail, fail, fail])), "initializing,initializing,unhealthy");
});

Deno.test("health state: inconclusive results (our DNS failure) neither count nor break a streak", () => {
  const healthy = healthAfter([ok, ok], t);
  const s = trace([fail, dns, dns, dns, fail, dns, fail], healthy);
  strictEqual(statuses(s), "healthy,healthy,healthy,healthy,healthy,healthy,unhealthy");
  strictEqual(s[3].failures, 1);
  strictEqual(
    describeHealth(s[3], t),
    "healthy (1 failure: status 500); last check inconclusive: cannot resolve host",
  );
  strictEqual(
    describeHealth(s[4], t),
    "healthy (2 failures: status 500)",
    "a real result clears it",
  );

  strictEqual(statuses(trace([dns, dns, dns, dns, dns])), Array(5).fill("initializing").join(","));
  strictEqual(healthAfter([ok, dns, ok], t).status, "healthy", "successes around it still add up");
  strictEqual(healthAfter([ok, ok, fail, fail, fail, dns, dns], t).status, "unhealthy");
});

Deno.test("health state: thresholds of 1 flip on every conclusive result", () => {
  const one = { healthyThreshold: 1, unhealthyThreshold: 1 };
  const s = [ok, fail, dns, ok].reduce<HealthState[]>(
    (acc, r) => [...acc, nextHealth(acc.at(-1) ?? INITIAL_HEALTH, r, one)],
    [],
  );
  deepStrictEqual(s.map((x) => x.status), ["healthy", "unhealthy", "unhealthy", "healthy"]);
});

Deno.test("health state: as data for /status.json, the last result follows the latest check", () => {
  const base = { healthyThreshold: 2, unhealthyThreshold: 3 };
  deepStrictEqual(healthData(INITIAL_HEALTH, t), {
    status: "initializing",
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
    ...base,
  });
  const s = trace([ok, ok, fail, dns, refused, ok]);
  deepStrictEqual(s.map((x) => healthData(x, t)), [
    {
      status: "initializing",
      consecutiveSuccesses: 1,
      consecutiveFailures: 0,
      ...base,
      lastResult: "success",
    },
    {
      status: "healthy",
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
      ...base,
      lastResult: "success",
    },
    {
      status: "healthy",
      consecutiveSuccesses: 0,
      consecutiveFailures: 1,
      ...base,
      lastResult: "failure",
      lastReason: "status 500",
    },
    {
      status: "healthy",
      consecutiveSuccesses: 0,
      consecutiveFailures: 1,
      ...base,
      lastResult: "inconclusive",
      lastReason: "cannot resolve host",
    },
    {
      status: "healthy",
      consecutiveSuccesses: 0,
      consecutiveFailures: 2,
      ...base,
      lastResult: "failure",
      lastReason: "connection refused",
    },
    {
      status: "healthy",
      consecutiveSuccesses: 1,
      consecutiveFailures: 0,
      ...base,
      lastResult: "success",
    },
  ]);
});
