import { strictEqual } from "node:assert";
import {
  type CheckResult,
  describeHealth,
  healthShare,
  type HealthState,
  INITIAL_HEALTH,
  nextHealth,
} from "../../lib/share/health_state.ts";

const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
const ok: CheckResult = { kind: "success" };
const fail: CheckResult = { kind: "failure", reason: "status 500" };
const dns: CheckResult = { kind: "inconclusive", reason: "cannot resolve host" };

function run(results: CheckResult[], from: HealthState = INITIAL_HEALTH): HealthState[] {
  const out: HealthState[] = [];
  let s = from;
  for (const r of results) out.push(s = nextHealth(s, r, t));
  return out;
}

const statuses = (xs: HealthState[]) => xs.map((s) => s.status).join(",");

Deno.test("health: initializing with share 0 until healthy_threshold consecutive successes", () => {
  const s = run([ok, ok]);
  strictEqual(statuses(s), "initializing,healthy");
  strictEqual(healthShare(s[0]), 0);
  strictEqual(healthShare(s[1]), 1);
});

Deno.test("health: a failure resets the success count", () => {
  strictEqual(statuses(run([ok, fail, ok, ok])), "initializing,initializing,initializing,healthy");
});

Deno.test("health: unhealthy after unhealthy_threshold consecutive failures, not before", () => {
  const healthy = run([ok, ok]).at(-1)!;
  const s = run([fail, fail, ok, fail, fail, fail], healthy);
  strictEqual(statuses(s), "healthy,healthy,healthy,healthy,healthy,unhealthy");
  strictEqual(healthShare(s.at(-1)!), 0);
  strictEqual(describeHealth(s.at(-1)!, t), "unhealthy (3 failure(s): status 500)");
});

Deno.test("health: back to healthy after healthy_threshold successes", () => {
  const down = run([ok, ok, fail, fail, fail]).at(-1)!;
  const s = run([ok, ok], down);
  strictEqual(statuses(s), "unhealthy,healthy");
  strictEqual(describeHealth(s[0], t), "unhealthy, recovering 1/2");
});

Deno.test("health: an inconclusive result (our DNS failure) changes nothing", () => {
  const healthy = run([ok, ok]).at(-1)!;
  const s = run([fail, dns, dns, dns, fail], healthy);
  strictEqual(statuses(s), "healthy,healthy,healthy,healthy,healthy");
  strictEqual(s[3].failures, 1, "inconclusive results neither count nor reset failures");
  const init = run([dns, dns, dns, dns]);
  strictEqual(statuses(init), "initializing,initializing,initializing,initializing");
});

Deno.test("health: a never-healthy endpoint that keeps failing is reported unhealthy", () => {
  strictEqual(statuses(run([fail, fail, fail])), "initializing,initializing,unhealthy");
});
