/**
 * A source kind: the config side the parser uses (class paths, keys, defaults, parse;
 * see `lib/config/kind.ts`) and `create`, which builds the running {@linkcode Source}
 * from the parsed config and the shared objects the wiring passes in. One descriptor per
 * kind, in its own file beside the implementation (`static_kind.ts`,
 * `registry/aurora_kind.ts`, ...); `kinds.ts` lists them.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ConfigKind } from "../config/kind.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { SourceCommon, SourceConfig } from "../model/config.ts";
import type { ZkSessions } from "../zk/sessions.ts";
import type { ApiSourceHost } from "./api/host.ts";
import type { Source } from "./source.ts";
import type { EndpointStateStore } from "./state_file.ts";

/** What sources share, created once in the wiring. */
export interface SourceDeps {
  readonly sessions: ZkSessions;
  readonly state?: EndpointStateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Where ApiSources mount their routes and find what they share; none: refused. */
  readonly api?: ApiSourceHost;
}

/**
 * A source kind whose parse produces `C` and whose create takes it.
 *
 * `create` is a method, so a `SourceKind<StaticSourceConfig>` fits a table of
 * `SourceKind` (TypeScript compares method parameters bivariantly): the table dispatches
 * on `kind`, which is what makes handing each kind only its own config safe.
 */
export interface SourceKind<C extends SourceConfig = SourceConfig>
  extends ConfigKind<C, SourceCommon> {
  create(config: C, deps: SourceDeps): Source;
}

/**
 * Declares a source kind; the type parameter makes its parse and create agree.
 *
 * @example
 * ```ts
 * import type { StaticSourceConfig } from "../model/config.ts";
 * import { StaticSource } from "./static.ts";
 * export const staticKind = defineSourceKind<StaticSourceConfig>({
 *   kind: "static",
 *   canonical: "tellapart.aurproxy.source.StaticProxySource",
 *   aliases: ["static"],
 *   parse: (f, common) => ({
 *     ...common,
 *     kind: "static",
 *     name: f.requiredString("name"),
 *     host: f.requiredString("host"),
 *     port: f.number("port", { required: true, min: 1, max: 65535, integer: true }),
 *   }),
 *   create: (c) => new StaticSource(c),
 * });
 * ```
 */
export function defineSourceKind<C extends SourceConfig>(kind: SourceKind<C>): SourceKind<C> {
  return kind;
}
