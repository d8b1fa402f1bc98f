/**
 * Every kind this build knows, assembled: source kinds, share-adjuster kinds and
 * backends, for the parser and the wiring. `lib/config/` takes the table as a parameter
 * and never imports a kind; this file sits above the kinds (layer 4: it imports
 * `lib/sources/`, `lib/share/` and `lib/backends/`), so anything from `lib/cli/` or a
 * feature folder may use it.
 *
 * Also the convenient forms of the config entry points, with this table as the default.
 *
 * @module
 */

import { BACKENDS } from "./backends/kinds.ts";
import type { BackendEntry } from "./backends/table.ts";
import type { ConfigKinds } from "./config/kind.ts";
import { loadConfig as loadWith } from "./config/load.ts";
import { parseConfig as parseWith, type ParseOptions } from "./config/parse.ts";
import {
  parseSourceConfig as parseSourceWith,
  type SourceConfigOptions,
} from "./config/sources.ts";
import type { ProxyConfig, SourceConfig } from "./model/config.ts";
import type { AdjusterKind } from "./share/kind.ts";
import { ADJUSTER_KINDS } from "./share/kinds.ts";
import type { SourceKind } from "./sources/kind.ts";
import { SOURCE_KINDS } from "./sources/kinds.ts";

/** A kind table whose entries can also create what they parse. */
export interface Kinds extends ConfigKinds {
  readonly sources: readonly SourceKind[];
  readonly adjusters: readonly AdjusterKind[];
  readonly backends: readonly BackendEntry[];
}

/**
 * Every kind of this build.
 *
 * @example
 * ```ts
 * import { markUnsupported } from "./config/kind.ts";
 * const noMesos = markUnsupported(BUILTIN_KINDS, "mesos_master");
 * noMesos.sources.find((k) => k.kind === "mesos_master")?.supported; // false
 * ```
 */
export const BUILTIN_KINDS: Kinds = Object.freeze({
  sources: SOURCE_KINDS,
  adjusters: ADJUSTER_KINDS,
  backends: BACKENDS,
});

/** {@linkcode ParseOptions} with the kinds optional (default {@linkcode BUILTIN_KINDS}). */
export type ConfigOptions = Partial<ParseOptions>;

/**
 * Validates a parsed JSON config against {@linkcode BUILTIN_KINDS} (or `options.kinds`);
 * throws `UsageErrors` listing every problem.
 *
 * @example
 * ```ts
 * const source = { source_class: "static", name: "web", host: "10.0.0.1", port: 9000 };
 * const config = parseConfig({
 *   backend: "nginx",
 *   servers: [{ hosts: ["default"], ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * config.servers[0].routes[0].slug; // "s_default_8080_r0_root"
 * ```
 */
export function parseConfig(raw: unknown, options: ConfigOptions = {}): ProxyConfig {
  return parseWith(raw, { ...options, kinds: options.kinds ?? BUILTIN_KINDS });
}

/**
 * Loads and validates `--config` (JSON, `file:///path` or a path) against
 * {@linkcode BUILTIN_KINDS} (or `options.kinds`).
 *
 * @example
 * ```ts
 * const source = { source_class: "static", name: "web", host: "10.0.0.1", port: 9000 };
 * const text = JSON.stringify({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * const config = await loadConfig(text); // or a path, or file:///path
 * config.backend; // "nginx"
 * ```
 */
export function loadConfig(arg: string, options: ConfigOptions = {}): Promise<ProxyConfig> {
  return loadWith(arg, { ...options, kinds: options.kinds ?? BUILTIN_KINDS });
}

/**
 * Validates one source (parsed JSON from HTTP or a flag) as inside `--config`, errors
 * rooted at `options.root` (default `source`).
 *
 * @example
 * ```ts
 * parseSourceConfig({ source_class: "static", name: "a", host: "10.0.0.1", port: 80 }).kind;
 * // "static"
 * const flag = '{"source_class": "serverset", "path": "/sd/web", "zk_servers": "zk:2181"}';
 * parseSourceConfig(JSON.parse(flag), { root: "--mirror-source" }).path; // "--mirror-source"
 * ```
 */
export function parseSourceConfig(
  raw: unknown,
  options: Partial<SourceConfigOptions> = {},
): SourceConfig {
  return parseSourceWith(raw, { ...options, kinds: options.kinds ?? BUILTIN_KINDS });
}
