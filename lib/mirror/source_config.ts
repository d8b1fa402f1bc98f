/**
 * One source given as JSON on the command line (`--mirror-source`, `--replay-source`),
 * validated exactly as a source inside `--config`, with errors naming the flag and the
 * key: `--replay-source.port: required, an integer 1-65535`.
 *
 * @module
 */

import { UsageError, UsageErrors } from "../errors.ts";
import { parseJsonText } from "../config/load.ts";
import { parseConfig } from "../config/parse.ts";
import type { SourceConfig } from "../model/config.ts";

/** Where the wrapped source sits in the one-route config it is validated in. */
const WRAPPED = "servers[0].routes[0].sources[0]";

function rename(path: string, flag: string): string {
  return path.startsWith(WRAPPED) ? flag + path.slice(WRAPPED.length) : path;
}

/** Every `path` in the parsed config, renamed from the wrapper's to the flag's. */
function renamePaths<T>(value: T, flag: string): T {
  if (Array.isArray(value)) return value.map((v) => renamePaths(v, flag)) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map((
      [k, v],
    ) => [k, k === "path" && typeof v === "string" ? rename(v, flag) : renamePaths(v, flag)]),
  ) as T;
}

/**
 * Parses and validates one source from `text`. Throws {@linkcode UsageError} (not JSON)
 * or {@linkcode UsageErrors} (every problem with the source), naming `flag`.
 *
 * @example
 * ```ts
 * const c = parseSourceJson(
 *   '{"source_class": "tellapart.aurproxy.source.StaticProxySource", "name": "r", "host": "10.0.0.1", "port": 9000}',
 *   "--mirror-source",
 * );
 * c.kind; // "static"
 * c.path; // "--mirror-source"
 * ```
 */
export function parseSourceJson(text: string, flag: string): SourceConfig {
  const raw = parseJsonText(text, flag);
  // lead: switch to parseSourceConfig(raw, flag) from lib/config once it lands; this
  // wraps the source in the smallest valid --config to reuse the same validation.
  const wrapper = {
    backend: "nginx",
    servers: [{ ports: [1], routes: [{ locations: ["/"], sources: [raw] }] }],
  };
  try {
    return renamePaths(parseConfig(wrapper).servers[0].routes[0].sources[0], flag);
  } catch (err) {
    if (!(err instanceof UsageErrors)) throw err;
    throw new UsageErrors(err.errors.map((e) => new UsageError(rename(e.path, flag), e.reason)));
  }
}
