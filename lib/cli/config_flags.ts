/**
 * How the command line shapes the reading of `--config`, the same for `run`, `render` and
 * `validate` (and a reload on SIGHUP):
 *
 * - `--backend` (default `nginx`) is the backend of a config without a `"backend"` key,
 *   as in the original, whose configs had none (it took the backend from this flag only);
 * - a key the original ignored (an unknown key on the top level, a server, a route or a
 *   stream) is a warning, logged, unless `--strict` (`validate`) or `--strict-config`
 *   (`run`) makes it an error.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { BUILTIN_KINDS, type ConfigOptions } from "../kinds.ts";
import type { Logger } from "../log.ts";
import type { FlagValues } from "./flags.ts";

/**
 * `--backend`, checked against the backends this build has.
 *
 * @example
 * ```ts
 * backendFlag({ backend: "nginx" }); // "nginx"
 * ```
 */
export function backendFlag(v: FlagValues): string {
  const name = v.backend;
  const names = BUILTIN_KINDS.backends.map((b) => b.name);
  if (typeof name !== "string" || !names.includes(name)) {
    throw new UsageError(
      "--backend",
      `unknown backend ${JSON.stringify(name)}; known: ${names.join(", ")}`,
    );
  }
  return name;
}

/** What {@linkcode configOptions} needs: the flag values it reads, resolved. */
export interface ConfigFlags {
  /** `--backend`. */
  readonly backend: string;
  /** `--strict` / `--strict-config`. */
  readonly strict: boolean;
}

/**
 * The options `loadConfig` is given: the default backend, and where warnings go (to
 * `warn`, unless strict).
 *
 * @example
 * ```ts
 * import { loadConfig } from "../kinds.ts";
 * const warnings: string[] = [];
 * const options = configOptions({ backend: "nginx", strict: false }, (w) => warnings.push(w.message));
 * const json = '{"servers": [{"ports": [8080], "routes": [{"name": "web", "locations": ["/"], ' +
 *   '"sources": [{"source_class": "static", "name": "a", "host": "10.0.0.1", "port": 80}]}]}]}';
 * const config = await loadConfig(json, options);
 * config.backend; // "nginx"
 * warnings; // ["servers[0].routes[0].name: unknown key; ignored, as the original did"]
 * ```
 */
export function configOptions(
  flags: ConfigFlags,
  warn: (warning: UsageError) => void,
): ConfigOptions {
  return {
    defaultBackend: { name: flags.backend, path: "--backend" },
    onIgnoredKey: flags.strict ? undefined : warn,
  };
}

/** Logs a warning of the config (`config: servers[0].routes[0].name: unknown key; ...`). */
export function logWarning(log: Logger): (warning: UsageError) => void {
  return (w) => log.warn(`config: ${w.message}`);
}
