/**
 * Outcomes as text and JSON: one line per decision for logs and `synchronize`'s table,
 * the same fields as an object for `--output json`.
 *
 * A line is `key=value` pairs in a fixed order, so it reads as a table and greps well:
 * `target=web instance=i-0abc host=ip-10-0-0-5.ec2.internal action=REGISTER
 * reasons=NOT_YET_REGISTERED write=FALSE`. A value with spaces or quotes is JSON-quoted.
 *
 * @module
 */

import type { Outcome } from "./registerer.ts";

/** An outcome as plain JSON (undefined fields left out). */
export interface OutcomeJson {
  readonly target: string;
  readonly instance?: string;
  readonly port?: number;
  readonly host?: string;
  readonly action: string;
  readonly reasons: readonly string[];
  readonly write: boolean;
  readonly result?: string;
  readonly error?: string;
  readonly message?: string;
}

/** The JSON form of an outcome. */
export function outcomeJson(o: Outcome): OutcomeJson {
  const m = o.member;
  return {
    target: o.target,
    ...(m.instance !== undefined ? { instance: m.instance } : {}),
    ...(m.port !== undefined ? { port: m.port } : {}),
    ...(m.host !== undefined ? { host: m.host } : {}),
    action: o.action,
    reasons: o.reasons,
    write: o.write,
    ...(o.result !== undefined ? { result: o.result } : {}),
    ...(o.error !== undefined ? { error: o.error } : {}),
    ...(o.message !== undefined ? { message: o.message } : {}),
  };
}

function value(v: string): string {
  return v === "" || /[\s"'=]/.test(v) ? JSON.stringify(v) : v;
}

/**
 * One line for an outcome.
 *
 * @example
 * ```ts
 * formatOutcome({
 *   target: "web", member: { key: "i-1", instance: "i-1" }, action: "NONE",
 *   reasons: ["ALREADY_REGISTERED"], write: false,
 * }); // "target=web instance=i-1 action=NONE reasons=ALREADY_REGISTERED write=FALSE"
 * ```
 */
export function formatOutcome(o: Outcome): string {
  const j = outcomeJson(o);
  const parts = [`target=${value(j.target)}`];
  if (j.instance !== undefined) parts.push(`instance=${value(j.instance)}`);
  if (j.port !== undefined) parts.push(`port=${j.port}`);
  if (j.host !== undefined) parts.push(`host=${value(j.host)}`);
  parts.push(`action=${j.action}`);
  parts.push(`reasons=${j.reasons.length ? j.reasons.join(",") : "-"}`);
  parts.push(`write=${j.write ? "TRUE" : "FALSE"}`);
  if (j.result !== undefined) parts.push(`result=${j.result}`);
  if (j.error !== undefined) parts.push(`error=${JSON.stringify(j.error)}`);
  if (j.message !== undefined) parts.push(`message=${JSON.stringify(j.message)}`);
  return parts.join(" ");
}
