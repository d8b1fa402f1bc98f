/**
 * One source given as JSON on the command line (`--mirror-source`, `--replay-source`),
 * validated exactly as a source inside `--config`, with errors naming the flag and the
 * key: `--replay-source.port: required, an integer 1-65535`.
 *
 * @module
 */

import { parseJsonText } from "../config/load.ts";
import { parseSourceConfig } from "../kinds.ts";
import type { SourceConfig } from "../model/config.ts";

/**
 * Parses and validates one source from `text`. Throws `UsageError` (not JSON)
 * or `UsageErrors` (every problem with the source), naming `flag`.
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
  return parseSourceConfig(parseJsonText(text, flag), { root: flag });
}
