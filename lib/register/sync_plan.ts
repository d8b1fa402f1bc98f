/**
 * The decisions of `synchronize` for one target, as a pure function of what should be
 * registered (the job's members) and what is (read from AWS).
 *
 * As the original: members of the job that are missing are registered
 * (`NOT_YET_REGISTERED`), members present stay (`ALREADY_REGISTERED`), other members are
 * removed only with `remove_other_instances` (`ALREADY_REGISTERED,NO_CORRESPONDING_TASK`;
 * otherwise `NONE` with `REMOVE_OTHER_INSTANCE_FALSE`).
 *
 * Beyond the original: a plan never empties a target. When the job has no member to
 * register and every registered member would be removed, the first one (by key) is kept
 * (`NONE`, `LAST_REGISTERED`) unless `removeLast` forces it. Members in conflict (several
 * DNS records for one host) are never touched: `NONE`, `NO_REASON`, with an error.
 *
 * @module
 */

import type { Decision, Member, TargetState } from "./registerer.ts";

/** Options of {@linkcode planTarget}. */
export interface PlanOptions {
  /** `remove_other_instances`: remove members that are not in the job. */
  readonly removeOtherInstances: boolean;
  /** Allow removing the last registered member (`--remove-last`). */
  readonly removeLast: boolean;
}

function byKey(a: Member, b: Member): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** One member per key, the first seen. */
function unique(members: readonly Member[]): Member[] {
  const seen = new Map<string, Member>();
  for (const m of members) if (!seen.has(m.key)) seen.set(m.key, m);
  return [...seen.values()].sort(byKey);
}

/**
 * Decisions for one target: registrations first, then members already there, then the
 * others; each group in key order.
 *
 * @example
 * ```ts
 * const state = { target: "web", members: [{ key: "i-2", instance: "i-2" }], conflicts: new Map() };
 * planTarget(state, [{ key: "i-1", instance: "i-1" }], { removeOtherInstances: true, removeLast: false });
 * // REGISTER i-1 (NOT_YET_REGISTERED), REMOVE i-2 (ALREADY_REGISTERED, NO_CORRESPONDING_TASK)
 * ```
 */
export function planTarget(
  state: TargetState,
  desired: readonly Member[],
  opts: PlanOptions,
): Decision[] {
  const target = state.target;
  const current = unique(state.members);
  const wanted = unique(desired);
  const currentKeys = new Set(current.map((m) => m.key));
  const wantedKeys = new Set(wanted.map((m) => m.key));
  const conflict = (m: Member): Decision | undefined => {
    const why = state.conflicts.get(m.key);
    return why === undefined
      ? undefined
      : { target, member: m, action: "NONE", reasons: ["NO_REASON"], error: why };
  };
  const register: Decision[] = [];
  const present: Decision[] = [];
  for (const m of wanted) {
    const c = conflict(m);
    if (c) present.push(c);
    else if (currentKeys.has(m.key)) {
      // The job's view (its host) with what AWS has (its port): both are worth showing.
      const cur = current.find((x) => x.key === m.key);
      present.push({
        target,
        member: { ...cur, ...m, port: m.port ?? cur?.port },
        action: "NONE",
        reasons: ["ALREADY_REGISTERED"],
      });
    } else {register.push({
        target,
        member: m,
        action: "REGISTER",
        reasons: ["NOT_YET_REGISTERED"],
      });}
  }
  const others = current.filter((m) => !wantedKeys.has(m.key));
  const rest: Decision[] = [];
  const removable: Member[] = [];
  for (const m of others) {
    const c = conflict(m);
    if (c) rest.push(c);
    else if (!opts.removeOtherInstances) {
      rest.push({ target, member: m, action: "NONE", reasons: ["REMOVE_OTHER_INSTANCE_FALSE"] });
    } else removable.push(m);
  }
  // What stays registered once the plan is carried out: the job's members (registered now
  // or about to be), conflicts and members not removed.
  const staying = wanted.length + rest.length;
  const keepOne = staying === 0 && removable.length > 0 && !opts.removeLast;
  removable.forEach((m, i) => {
    rest.push(
      keepOne && i === 0
        ? {
          target,
          member: m,
          action: "NONE",
          reasons: ["LAST_REGISTERED"],
          message: "the last registered member is kept (--remove-last removes it)",
        }
        : {
          target,
          member: m,
          action: "REMOVE",
          reasons: ["ALREADY_REGISTERED", "NO_CORRESPONDING_TASK"],
        },
    );
  });
  return [...register, ...present, ...rest];
}
