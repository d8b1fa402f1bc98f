/**
 * `context`: free-form values at the top level and on each server, rendered into the
 * proxy's config. Any key is allowed, but no string anywhere in it may carry nginx
 * syntax, and the keys the renderer interprets (`location_blacklist`, `default_server`,
 * `overflow_port`) must have their shape.
 *
 * @module
 */

import type { Context } from "../model/config.ts";
import { checkLocation, checkUnsafe } from "./checks.ts";
import { describe, type Fields, join, type Walker } from "./walker.ts";

/** The spellings of a boolean the original accepted for `default_server`. */
const BOOLEANS: readonly unknown[] = [true, false, "True", "False", "true", "false"];

/** Whether a `default_server`-style value means true. */
export const isTrue = (v: unknown): boolean => v === true || v === "True" || v === "true";

/**
 * How deep a context value may nest. The renderer reads flat values (and one list); a
 * deeper structure means nothing to nginx, and walking one thousands of levels deep
 * would overflow the stack instead of saying what is wrong.
 */
export const MAX_CONTEXT_DEPTH = 32;

/** Checks every string in `x`; `depth` is how many objects and lists hold it. */
function visit(w: Walker, x: unknown, p: string, depth: number): void {
  if (typeof x === "string") {
    const bad = checkUnsafe(x);
    if (bad) w.fail(p, bad);
    return;
  }
  if (!x || typeof x !== "object") return;
  if (depth >= MAX_CONTEXT_DEPTH) {
    w.fail(p, `nested more than ${MAX_CONTEXT_DEPTH} levels deep: context values are flat`);
    return;
  }
  if (Array.isArray(x)) x.forEach((y, i) => visit(w, y, `${p}[${i}]`, depth + 1));
  else for (const [k, y] of Object.entries(x)) visit(w, y, join(p, k), depth + 1);
}

/**
 * The `context` of `f`'s object (`{}` when absent); `isServer` for a server's, where
 * `default_server` and `overflow_port` have a meaning.
 *
 * @example
 * ```ts
 * import { Walker } from "./walker.ts";
 * const server = { context: { default_server: "True", location_blacklist: ["/health"] } };
 * parseContext(new Walker().fields(server, "servers[0]")!, true);
 * // { default_server: "True", location_blacklist: ["/health"] }
 * ```
 */
export function parseContext(f: Fields, isServer: boolean): Context {
  if (!f.has("context")) return {};
  const w = f.walker;
  const cp = f.at("context");
  const c = w.object(f.raw("context"), cp);
  if (!c) return {};
  for (const [k, x] of Object.entries(c)) {
    if (k !== "location_blacklist") visit(w, x, join(cp, k), 1);
  }
  w.stringListValue(
    c.location_blacklist,
    join(cp, "location_blacklist"),
    false,
    (s) => checkUnsafe(s) ?? checkLocation(s),
  );
  const def = c.default_server;
  if (isServer && def !== undefined && !BOOLEANS.includes(def)) {
    w.fail(
      join(cp, "default_server"),
      `expected true or false (or "True"/"False"), got ${describe(def)}`,
    );
  }
  const op = c.overflow_port;
  if (isServer && op !== undefined) {
    const n = Number(op);
    if (!/^\d+$/.test(String(op)) || n < 1 || n > 65535) {
      w.fail(join(cp, "overflow_port"), `expected a port 1-65535, got ${describe(op)}`);
    }
  }
  return c;
}
