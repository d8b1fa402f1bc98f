/**
 * A backend entry: the name `"backend"` selects it by, the parser of its own top-level
 * options, and `create`, which builds the running {@linkcode ProxyBackend} from them.
 * Each backend's entry lives in its folder (`nginx/kind.ts`); `kinds.ts` lists them.
 * The generic config parser knows none of their keys.
 *
 * @module
 */

import type { ConfigBackend } from "../config/kind.ts";
import type { Fields } from "../config/walker.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxyConfig, ServerConfig } from "../model/config.ts";
import type { ProxyBackend } from "./backend.ts";

/** What a backend gets from the wiring. */
export interface BackendDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * A backend whose options are `O`. `parseOptions` and `create` are methods, so a
 * `BackendEntry<NginxOptions>` fits a table of `BackendEntry` (method parameters compare
 * bivariantly): a config's `backendOptions` only ever reach the `create` of the entry
 * whose `parseOptions` made them, which is what makes that safe.
 */
export interface BackendEntry<O = unknown> extends ConfigBackend {
  parseOptions(f: Fields, servers: readonly ServerConfig[]): O;
  create(options: O, deps: BackendDeps): ProxyBackend;
  /**
   * Optional: the proxy config file these options name (`configuration_file`). `run`
   * keeps its state file beside it unless `--state-file` says otherwise; a backend
   * without one has no default state file.
   */
  configurationFile?(options: O): string;
  /** Optional: how the proxy's own check of a config is called, for messages: "nginx -t". */
  readonly checkCommand?: string;
}

/**
 * Declares a backend entry; the type parameter makes its parse and create agree on the
 * options without a cast anywhere.
 *
 * @example
 * ```ts
 * import { NginxBackend } from "./nginx/backend.ts";
 * import { type NginxOptions, parseNginxOptions } from "./nginx/options.ts";
 * export const nginxBackend = defineBackend<NginxOptions>({
 *   name: "nginx",
 *   parseOptions: parseNginxOptions,
 *   create: (options, deps) => new NginxBackend(options, deps),
 * });
 * ```
 */
export function defineBackend<O>(entry: BackendEntry<O>): BackendEntry<O> {
  return entry;
}

/**
 * The backend `config` selects, built from its options.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS, parseConfig } from "../kinds.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * const deps = { logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") };
 * createBackend(BUILTIN_KINDS.backends, config, deps).name; // "nginx"
 * ```
 */
export function createBackend(
  backends: readonly BackendEntry[],
  config: ProxyConfig,
  deps: BackendDeps,
): ProxyBackend {
  return entryOf(backends, config).create(config.backendOptions, deps);
}

/**
 * The proxy config file `config` names, from its backend's entry; undefined for a
 * backend that names none.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS, parseConfig } from "../kinds.ts";
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * configurationFileOf(BUILTIN_KINDS.backends, config); // "/etc/aurproxy/nginx/nginx.conf"
 * ```
 */
export function configurationFileOf(
  backends: readonly BackendEntry[],
  config: ProxyConfig,
): string | undefined {
  return entryOf(backends, config).configurationFile?.(config.backendOptions);
}

/**
 * The entry `config` selects; throws when the table has none of that name.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS, parseConfig } from "../kinds.ts";
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const config = parseConfig({
 *   backend: "haproxy",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * entryOf(BUILTIN_KINDS.backends, config).checkCommand; // "haproxy -c"
 * ```
 */
export function entryOf(backends: readonly BackendEntry[], config: ProxyConfig): BackendEntry {
  const entry = backends.find((b) => b.name === config.backend);
  if (!entry) throw new RangeError(`no backend "${config.backend}"`);
  return entry;
}

/**
 * `config`'s options for `entry`, typed; throws when the config selects another backend.
 *
 * @example
 * ```ts
 * import { nginxBackend } from "./nginx/kind.ts";
 * import { parseConfig } from "../kinds.ts";
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * optionsFor(nginxBackend, config).configurationFile; // "/etc/aurproxy/nginx/nginx.conf"
 * ```
 */
export function optionsFor<O>(entry: BackendEntry<O>, config: ProxyConfig): O {
  if (config.backend !== entry.name) {
    throw new RangeError(`the config's backend is "${config.backend}", not "${entry.name}"`);
  }
  // parseConfig stored exactly what this entry's parseOptions returned under its name.
  return config.backendOptions as O;
}
