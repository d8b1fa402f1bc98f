/**
 * What the config parser needs to know of a source kind, a share-adjuster kind and a
 * backend, without knowing any of them: each is a descriptor that lives beside its
 * implementation (`lib/sources/static_kind.ts`, `lib/backends/nginx/kind.ts`, ...) and
 * is handed to the parser in a {@linkcode ConfigKinds} table. This file never imports a
 * kind; the layer above assembles the table (`lib/kinds.ts`).
 *
 * Existing configs name Python classes (`tellapart.aurproxy.source.AuroraProxySource`):
 * each kind lists every spelling that names it, and the table is all the "plugin
 * loading" TypeScript needs.
 *
 * @module
 */

import type {
  AdjusterCommon,
  AdjusterConfig,
  ServerConfig,
  SourceCommon,
  SourceConfig,
} from "../model/config.ts";
import { didYouMean } from "./did_you_mean.ts";
import type { Fields } from "./walker.ts";

/** What a kind's parse may consult besides its own object. */
export interface KindContext {
  /** The table being parsed with (an API source checks its whitelist against it). */
  readonly kinds: ConfigKinds;
}

/**
 * One kind of a `*_class` family: the spellings that name it and how to read its keys.
 * `C` is the parsed config; `Common` what the generic parser reads for every kind.
 */
export interface ConfigKind<C extends { readonly kind: string }, Common> {
  readonly kind: C["kind"];
  /** The original's canonical class path, shown in "known classes" lists. */
  readonly canonical: string;
  /** Every other spelling that names the kind; the first is the short name. */
  readonly aliases: readonly string[];
  /** False while the kind is recognised but cannot be used; default true. */
  readonly supported?: boolean;
  /** Why it cannot be used; default `<ClassName> is not supported yet`. */
  readonly unsupportedReason?: string;
  /**
   * True when the original's class took any keyword (`**kwargs`) and ignored the ones it
   * did not know: unknown keys are then warnings (errors under `--strict`), not errors.
   */
  readonly ignoresUnknownKeys?: boolean;
  /**
   * Reads the kind's own keys from `f` (the keys it reads are the keys it allows; the
   * class key and the common ones are read already) and returns the config.
   */
  parse(f: Fields, common: Common, ctx: KindContext): C;
}

/** A source kind as the parser sees it. */
export type SourceParser = ConfigKind<SourceConfig, SourceCommon>;
/** A share-adjuster kind as the parser sees it. */
export type AdjusterParser = ConfigKind<AdjusterConfig, AdjusterCommon>;

/** A backend as the parser sees it: a name for `"backend"` and its top-level keys. */
export interface ConfigBackend {
  /** The `"backend"` value that selects it. */
  readonly name: string;
  /**
   * Reads the backend's options from the top-level object (the keys it reads are the
   * top-level keys it allows); `servers` are parsed already, for cross-checks.
   */
  parseOptions(f: Fields, servers: readonly ServerConfig[]): unknown;
}

/** Every kind the parser accepts. */
export interface ConfigKinds {
  readonly sources: readonly SourceParser[];
  readonly adjusters: readonly AdjusterParser[];
  readonly backends: readonly ConfigBackend[];
}

/** Anything with a kind and its spellings. */
type Named = Pick<
  ConfigKind<{ kind: string }, unknown>,
  "kind" | "canonical" | "aliases" | "supported" | "unsupportedReason"
>;

/** Result of resolving a class path. */
export type Resolved<E> =
  | { readonly ok: true; readonly entry: E }
  | { readonly ok: false; readonly reason: string };

/** `ApiSource` from `tellapart.aurproxy.source.ApiSource`. */
function className(canonical: string): string {
  return canonical.slice(canonical.lastIndexOf(".") + 1);
}

/**
 * The entry a class path or short name names, supported or not; undefined when unknown.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * findClass(BUILTIN_KINDS.sources, "api")?.canonical; // "tellapart.aurproxy.source.ApiSource"
 * ```
 */
export function findClass<E extends Named>(table: readonly E[], name: string): E | undefined {
  return table.find((e) => e.canonical === name || e.aliases.includes(name));
}

/**
 * Resolves a class path or short name against a table. Unknown names get a did-you-mean
 * and the list of known classes (short name and canonical path).
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const r = resolveClass(BUILTIN_KINDS.sources, "tellapart.aurproxy.source.AuroraSource");
 * if (r.ok) r.entry.kind; // "aurora"
 * ```
 */
export function resolveClass<E extends Named>(table: readonly E[], name: string): Resolved<E> {
  const e = findClass(table, name);
  if (e && e.supported !== false) return { ok: true, entry: e };
  if (e) {
    return {
      ok: false,
      reason: e.unsupportedReason ?? `${className(e.canonical)} is not supported yet`,
    };
  }
  const spellings = table.flatMap((e) => [e.canonical, ...e.aliases]);
  const hint = didYouMean(name, spellings);
  const known = table
    .map((e) =>
      `${e.aliases[0]} (${e.canonical})${e.supported === false ? " [not supported]" : ""}`
    )
    .join(", ");
  return {
    ok: false,
    reason: `unknown class ${JSON.stringify(name)}${
      hint ? ` (did you mean "${hint}"?)` : ""
    }; known: ${known}`,
  };
}

/** The families of a kind table that {@linkcode markUnsupported} can change. */
interface Families {
  readonly sources: readonly Named[];
  readonly adjusters: readonly Named[];
}

function withSupport<T extends Families>(
  tables: T,
  kind: string,
  supported: boolean,
  reason?: string,
): T {
  if (![...tables.sources, ...tables.adjusters].some((e) => e.kind === kind)) {
    throw new RangeError(`unknown class kind ${JSON.stringify(kind)}`);
  }
  // Spread keeps every other member of an entry (its create, for one).
  const set = <E extends Named>(t: readonly E[]): E[] =>
    t.map((e) => e.kind === kind ? { ...e, supported, unsupportedReason: reason } : e);
  return { ...tables, sources: set(tables.sources), adjusters: set(tables.adjusters) };
}

/**
 * A new table in which `kind` is refused with `reason` (default `<ClassName> is not
 * supported yet`), for a caller that cannot serve it. The table passed is not changed.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS, parseConfig } from "../kinds.ts";
 * const kinds = markUnsupported(BUILTIN_KINDS, "mesos_master", "no Mesos here");
 * const source = { source_class: "mesos_master", mesos_master_path: "/m", zk_servers: "zk:2181" };
 * const raw = { backend: "nginx", servers: [{ ports: [80], routes: [{ locations: ["/"], sources: [source] }] }] };
 * try {
 *   parseConfig(raw, { kinds });
 * } catch (e) {
 *   String(e); // servers[0].routes[0].sources[0].source_class: no Mesos here
 * }
 * ```
 */
export function markUnsupported<T extends Families>(
  tables: T,
  kind: string,
  reason?: string,
): T {
  return withSupport(tables, kind, false, reason);
}

/**
 * A new table in which `kind` is accepted (say, once its implementation lands).
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const kinds = markSupported(BUILTIN_KINDS, "api");
 * ```
 */
export function markSupported<T extends Families>(
  tables: T,
  kind: string,
): T {
  return withSupport(tables, kind, true);
}
