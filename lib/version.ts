/**
 * aurproxy's version, read from deno.json (the one place it is written): reported by
 * `aurproxy --version`, `/health/details`, `/status`, `aurproxy_build_info`, the
 * `User-Agent` of the publishers and Sentry's release. deno.json is imported as JSON, so
 * the bundle and the compiled executable carry it inside: nothing is read at run time.
 *
 * @module
 */

import manifest from "../deno.json" with { type: "json" };

/** The version in deno.json, e.g. `0.1.0`. */
export const VERSION: string = manifest.version;

/**
 * The one-line version report: aurproxy's version and the Deno runtime it runs on (in a
 * compiled executable, the runtime built into it), e.g.
 * `aurproxy 0.1.0 (deno 2.9.6, v8 15.0.245.2-rusty)`.
 *
 * @example
 * ```ts
 * versionLine().startsWith(`aurproxy ${VERSION} (deno `); // true
 * ```
 */
export function versionLine(): string {
  return `aurproxy ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`;
}
