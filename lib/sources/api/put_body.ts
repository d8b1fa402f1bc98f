/**
 * What a PUT of a managed source must be, as a pure check: the body `{"source": {...},
 * "expiration": "<ISO-8601>"}`, the source's class on the ApiSource's whitelist (403
 * otherwise, with the original's message), the expiration at least a minute ahead (400,
 * the original's messages), and the source valid exactly as inside `--config` (400,
 * every error naming its JSON path). The same check reads a stored entry back at
 * start-up, where an expiration in the past means "expired" instead of an error.
 *
 * @module
 */

import { type ConfigKinds, findClass } from "../../config/kind.ts";
import { parseSourceConfig } from "../../config/sources.ts";
import { describe, Fields, Walker } from "../../config/walker.ts";
import { UsageError, UsageErrors } from "../../errors.ts";
import type { SourceConfig } from "../../model/config.ts";
import { parseExpiration, parseIsoTime } from "./expiration.ts";

/** Deeper JSON than any source config needs is refused before anything walks it. */
export const MAX_BODY_DEPTH = 32;

/** A body that passed every check. */
export interface ValidPut {
  readonly ok: true;
  /** The `source` object exactly as received: answered back and stored. */
  readonly raw: Readonly<Record<string, unknown>>;
  readonly config: SourceConfig;
  /** Ms since the epoch, or null for never. */
  readonly expiresAt: number | null;
}

/** A refused body: the status and message to answer. */
export interface RefusedPut {
  readonly ok: false;
  readonly status: 400 | 403;
  readonly message: string;
  /** Every problem, each naming its JSON path, when there are several. */
  readonly errors?: readonly string[];
}

/** What the check needs to know. */
export interface PutRules {
  /** The kinds sources are parsed with (the build's table). */
  readonly kinds: ConfigKinds;
  /** The kinds the ApiSource's `source_whitelist` allows. */
  readonly allowed: ReadonlySet<string>;
  readonly now: number;
}

const refuse = (message: string, errors?: readonly string[]): RefusedPut => ({
  ok: false,
  status: 400,
  message,
  errors,
});

/**
 * The nesting depth of a JSON value, counted without recursion (a 64 KiB body can nest
 * 30,000 deep) and stopping once past `limit`.
 */
export function jsonDepth(v: unknown, limit = MAX_BODY_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== "object") continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

/** The kinds a whitelist of class paths allows (unknown names allow nothing). */
export function allowedKinds(kinds: ConfigKinds, whitelist: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const cls of whitelist) {
    const k = findClass(kinds.sources, cls);
    if (k && k.kind !== "api") out.add(k.kind);
  }
  return out;
}

/**
 * Checks a PUT's parsed JSON body.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../../kinds.ts";
 * const rules = { kinds: BUILTIN_KINDS, allowed: new Set(["static"]), now: Date.now() };
 * const r = checkPut({ source: { source_class: "static", name: "a", host: "10.0.0.1", port: 80 } }, rules);
 * r.ok; // true
 * checkPut({ source: { source_class: "serverset" } }, rules);
 * // { ok: false, status: 403, message: "Invalid source_class 'serverset'" }
 * ```
 */
export function checkPut(body: unknown, rules: PutRules): ValidPut | RefusedPut {
  const w = new Walker();
  const o = w.object(body, "(body)");
  if (!o) return refuse(w.errors[0].message);
  if (jsonDepth(o) > MAX_BODY_DEPTH) {
    return refuse(`(body): nested deeper than ${MAX_BODY_DEPTH} levels`);
  }
  const f = new Fields(w, o, "");
  const source = f.raw("source");
  const expiration = f.raw("expiration");
  f.end();
  if (w.errors.length) return refuse(messageOf(w.errors), w.errors.map((e) => e.message));
  // The original's order: the expiration first, then the class, then (ours) the keys.
  const exp = parseExpiration(expiration, rules.now);
  if (!exp.ok) return refuse(exp.message);
  return checkSource(source, rules, exp.at);
}

/**
 * Checks a stored entry at start-up: the same rules as a PUT, except that an expiration
 * in the past means the entry has expired (`expired: true`), and one in the coming
 * minute is still honoured (it was valid when it was set).
 */
export function checkStored(
  source: unknown,
  expiration: string | null,
  rules: PutRules,
): ValidPut | RefusedPut | { readonly ok: false; readonly expired: true } {
  const at = expiration === null ? null : parseIsoTime(expiration);
  if (at === undefined) return refuse(`expiration: ${describe(expiration)} is not a time`);
  if (at !== null && at <= rules.now) return { ok: false, expired: true };
  return checkSource(source, rules, at);
}

function checkSource(
  source: unknown,
  rules: PutRules,
  expiresAt: number | null,
): ValidPut | RefusedPut {
  const cls = source && typeof source === "object" && !Array.isArray(source)
    ? (source as Record<string, unknown>).source_class
    : undefined;
  if (typeof cls === "string" && cls !== "") {
    const kind = findClass(rules.kinds.sources, cls)?.kind;
    if (kind === undefined || !rules.allowed.has(kind)) {
      return { ok: false, status: 403, message: `Invalid source_class '${cls}'` };
    }
  }
  try {
    const config = parseSourceConfig(source, { kinds: rules.kinds, root: "source" });
    return { ok: true, raw: source as Record<string, unknown>, config, expiresAt };
  } catch (err) {
    if (err instanceof UsageErrors) {
      return refuse(messageOf(err.errors), err.errors.map((e) => e.message));
    }
    if (err instanceof UsageError) return refuse(err.message);
    throw err;
  }
}

function messageOf(errors: readonly UsageError[]): string {
  return errors.map((e) => e.message).join("; ");
}
