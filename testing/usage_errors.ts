/**
 * What a config or flag check reports, for the tests of every error it names: the
 * `UsageErrors` a call throws, as errors or as their `path: reason` messages. A call that
 * does not throw them fails the test.
 *
 * @module
 */

import { type UsageError, UsageErrors } from "../lib/errors.ts";
import { type ConfigOptions, parseConfig } from "../lib/kinds.ts";

/**
 * The errors of the `UsageErrors` `f` throws; rethrows anything else, throws when `f`
 * returns.
 *
 * @example
 * ```ts
 * import { parseConfig } from "../lib/kinds.ts";
 * usageErrors(() => parseConfig({ servers: [] }))[0].path; // "backend"
 * ```
 */
export function usageErrors(f: () => unknown): readonly UsageError[] {
  try {
    f();
  } catch (e) {
    if (!(e instanceof UsageErrors)) throw e;
    return e.errors;
  }
  throw new Error("expected UsageErrors");
}

/**
 * The messages (`path: reason`) of the `UsageErrors` `f` throws.
 *
 * @example
 * ```ts
 * import { parseSourceConfig } from "../lib/kinds.ts";
 * usageErrorMessages(() => parseSourceConfig({ source_class: "static" })).length > 0; // true
 * ```
 */
export function usageErrorMessages(f: () => unknown): string[] {
  return usageErrors(f).map((x) => x.message);
}

/**
 * Every error `parseConfig` reports for `raw`, as messages.
 *
 * @example
 * ```ts
 * configErrors({ backend: "nginx", servers: "no" }).length > 0; // true
 * ```
 */
export function configErrors(raw: unknown, options?: ConfigOptions): string[] {
  return usageErrorMessages(() => parseConfig(raw, options));
}
