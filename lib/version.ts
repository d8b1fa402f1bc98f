/**
 * aurproxy's version, read from deno.json (the one place it is written): reported by
 * `aurproxy_build_info`, the `User-Agent` of the publishers and Sentry's release.
 *
 * @module
 */

import manifest from "../deno.json" with { type: "json" };

/** The version in deno.json, e.g. `0.1.0`. */
export const VERSION: string = manifest.version;
