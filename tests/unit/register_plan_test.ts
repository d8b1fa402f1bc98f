import { deepStrictEqual, strictEqual } from "node:assert";
import type { Decision, Member, TargetState } from "../../lib/register/registerer.ts";
import { formatOutcome, outcomeJson } from "../../lib/register/report.ts";
import { planTarget } from "../../lib/register/sync_plan.ts";

const m = (id: string, host?: string): Member => ({
  key: id,
  instance: id,
  ...(host ? { host } : {}),
});
const state = (ids: string[], conflicts: [string, string][] = []): TargetState => ({
  target: "web",
  members: ids.map((id) => m(id)),
  conflicts: new Map(conflicts),
});
const brief = (ds: Decision[]) =>
  ds.map((d) => `${d.member.key} ${d.action} ${d.reasons.join(",")}`);
const keep = { removeOtherInstances: false, removeLast: false };
const remove = { removeOtherInstances: true, removeLast: false };

Deno.test("plan: missing members are registered, present ones stay, others stay without remove_other_instances", () => {
  deepStrictEqual(brief(planTarget(state(["i-2", "i-9"]), [m("i-1"), m("i-2")], keep)), [
    "i-1 REGISTER NOT_YET_REGISTERED",
    "i-2 NONE ALREADY_REGISTERED",
    "i-9 NONE REMOVE_OTHER_INSTANCE_FALSE",
  ]);
});

Deno.test("plan: with remove_other_instances, others are removed with the original's two reasons", () => {
  deepStrictEqual(brief(planTarget(state(["i-2", "i-9"]), [m("i-1"), m("i-2")], remove)), [
    "i-1 REGISTER NOT_YET_REGISTERED",
    "i-2 NONE ALREADY_REGISTERED",
    "i-9 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
});

Deno.test("plan: a job with no members never empties a target unless --remove-last", () => {
  deepStrictEqual(brief(planTarget(state(["i-8", "i-9", "i-7"]), [], remove)), [
    "i-7 NONE LAST_REGISTERED",
    "i-8 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
    "i-9 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
  deepStrictEqual(brief(planTarget(state(["i-9"]), [], { ...remove, removeLast: true })), [
    "i-9 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
  // With a member to register, nothing is "last": the others go.
  deepStrictEqual(brief(planTarget(state(["i-9"]), [m("i-1")], remove)), [
    "i-1 REGISTER NOT_YET_REGISTERED",
    "i-9 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
  // An empty target with an empty job: nothing at all.
  deepStrictEqual(planTarget(state([]), [], remove), []);
});

Deno.test("plan: members in conflict are left alone with an error, and count as staying", () => {
  const st = state(["h1", "h2"], [["h1", "2 records for h1"], ["h3", "2 records for h3"]]);
  const ds = planTarget(st, [m("h3")], remove);
  deepStrictEqual(brief(ds), [
    "h3 NONE NO_REASON",
    "h1 NONE NO_REASON",
    "h2 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
  strictEqual(ds[0].error, "2 records for h3");
  strictEqual(ds[1].error, "2 records for h1");
  // h1 (in conflict) stays, so h2 is not the last one.
  deepStrictEqual(brief(planTarget(state(["h1", "h2"], [["h1", "x"]]), [], remove)), [
    "h1 NONE NO_REASON",
    "h2 REMOVE ALREADY_REGISTERED,NO_CORRESPONDING_TASK",
  ]);
});

Deno.test("plan: duplicates count once; a present member shows the job's host and AWS's port", () => {
  const st: TargetState = {
    target: "tg",
    members: [{ key: "i-1", instance: "i-1", port: 8080 }, {
      key: "i-1",
      instance: "i-1",
      port: 9090,
    }],
    conflicts: new Map(),
  };
  const ds = planTarget(st, [m("i-1", "ip-10-0-0-1"), m("i-1", "10.0.0.1")], remove);
  strictEqual(ds.length, 1);
  deepStrictEqual(ds[0].member, { key: "i-1", instance: "i-1", port: 8080, host: "ip-10-0-0-1" });
});

Deno.test("report: one key=value line per decision, and the same as JSON", () => {
  const [d] = planTarget(state([]), [m("i-1", "ip-10-0-0-1.ec2.internal")], keep);
  strictEqual(
    formatOutcome({ ...d, write: false }),
    "target=web instance=i-1 host=ip-10-0-0-1.ec2.internal action=REGISTER reasons=NOT_YET_REGISTERED write=FALSE",
  );
  strictEqual(
    formatOutcome({ ...d, write: true, result: "failed", error: "Throttling: Rate exceeded" }),
    "target=web instance=i-1 host=ip-10-0-0-1.ec2.internal action=REGISTER " +
      'reasons=NOT_YET_REGISTERED write=TRUE result=failed error="Throttling: Rate exceeded"',
  );
  deepStrictEqual(outcomeJson({ ...d, write: true, result: "ok" }), {
    target: "web",
    instance: "i-1",
    host: "ip-10-0-0-1.ec2.internal",
    action: "REGISTER",
    reasons: ["NOT_YET_REGISTERED"],
    write: true,
    result: "ok",
  });
});
