/**
 * A route's mirror keys: `mirror_sources` (a list of sources, as `sources`) turns on
 * nginx's own mirroring of the route, copying `mirror_percent` of its requests to that
 * pool; `mirror_key`, `mirror_request_body`, `mirror_connect_timeout` and
 * `mirror_timeout` tune the copy. Defaults are {@linkcode MIRROR_DEFAULTS}.
 *
 * @module
 */

import { MIRROR_DEFAULTS, type MirrorConfig } from "../model/config.ts";
import type { ServerContext } from "./servers.ts";
import { parseSource } from "./sources.ts";
import { describe, type Fields } from "./walker.ts";

/** Every mirror key of a route (streams refuse them). */
export const MIRROR_KEYS: readonly string[] = Object.freeze([
  "mirror_sources",
  "mirror_percent",
  "mirror_key",
  "mirror_request_body",
  "mirror_connect_timeout",
  "mirror_timeout",
]);

/** An nginx variable expression safe inside a double-quoted string: `$request_id`, `$a:$b`. */
const KEY = /^(\$[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9_.:-])+$/;

function checkKey(s: string): string | undefined {
  return KEY.test(s) && s.includes("$")
    ? undefined
    : `expected nginx variables (and letters, digits, ".", ":", "-", "_") like ` +
      `"$request_id" or "$remote_addr", got ${JSON.stringify(s)}`;
}

/** `true`/`false`, or their strings as the original's configs spell them. */
function flag(f: Fields, key: string, def: boolean): boolean {
  const v = f.raw(key);
  if (v === undefined || v === null) return def;
  if (v === true || v === "true" || v === "True") return true;
  if (v === false || v === "false" || v === "False") return false;
  f.fail(key, `expected true or false, got ${describe(v)}`);
  return def;
}

/**
 * The mirror of the route being read by `f`, or undefined when it has no
 * `mirror_sources` (the other mirror keys are then refused).
 */
export function parseMirror(
  f: Fields,
  routeSlug: string,
  ctx: ServerContext,
): MirrorConfig | undefined {
  if (!f.has("mirror_sources")) {
    for (const k of MIRROR_KEYS) {
      if (f.has(k)) f.fail(k, "only with mirror_sources (the pool requests are copied to)");
    }
    return undefined;
  }
  const sources = f.each("mirror_sources", true, (s, p) => parseSource(ctx.walker, s, p, ctx));
  const d = MIRROR_DEFAULTS;
  const percent = f.number("mirror_percent", { def: d.percent, min: 0, max: 100 });
  // split_clients takes at most two decimals.
  if (Number.isFinite(percent) && Number(percent.toFixed(2)) !== percent) {
    f.fail("mirror_percent", `expected at most two decimals, got ${percent}`);
  }
  return {
    path: f.path,
    slug: ctx.uniqueSlug(`${routeSlug}_mirror`),
    sources,
    overflowSources: [],
    percent,
    key: f.stringOr("mirror_key", d.key, checkKey),
    requestBody: flag(f, "mirror_request_body", d.requestBody),
    connectTimeoutSeconds: f.number("mirror_connect_timeout", {
      def: d.connectTimeoutSeconds,
      above: 0,
      max: 60,
    }),
    timeoutSeconds: f.number("mirror_timeout", { def: d.timeoutSeconds, above: 0, max: 3600 }),
  };
}
