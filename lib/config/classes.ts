/**
 * Class paths of the original aurproxy resolved to the built-in kinds. Existing configs
 * name Python classes (`tellapart.aurproxy.source.AuroraProxySource`); a table is all the
 * "plugin loading" TypeScript needs.
 *
 * The tables are immutable values passed to the parser, not a registry: a caller that
 * cannot serve a kind (or a test that wants one served) derives its own tables with
 * {@linkcode markUnsupported} / {@linkcode markSupported}.
 *
 * @module
 */

import { didYouMean } from "./did_you_mean.ts";
import type { AdjusterConfig, SourceConfig } from "../model/config.ts";

export type SourceKind = SourceConfig["kind"];
export type AdjusterKind = AdjusterConfig["kind"];

/** One known class: every spelling that names it, and whether this build can run it. */
export interface ClassEntry<K extends string> {
  readonly kind: K;
  /** The original's canonical class path, shown in "known classes" lists. */
  readonly canonical: string;
  /** Every other spelling that resolves to the kind; the first is the short name. */
  readonly aliases: readonly string[];
  /** False while the kind is recognised but cannot be used. */
  readonly supported: boolean;
  /** Why it cannot be used; defaults to `<ClassName> is not supported yet`. */
  readonly unsupportedReason?: string;
}

/** The source and adjuster tables the parser resolves `*_class` values against. */
export interface ClassTables {
  readonly sources: readonly ClassEntry<SourceKind>[];
  readonly adjusters: readonly ClassEntry<AdjusterKind>[];
}

const SRC = "tellapart.aurproxy.source";
const ADJ = "tellapart.aurproxy.share.adjusters";

/**
 * What this build knows. `ApiSource` is recognised but not built yet.
 *
 * @example
 * ```ts
 * parseConfig(raw, { classes: DEFAULT_CLASSES }); // the same as parseConfig(raw)
 * ```
 */
export const DEFAULT_CLASSES: ClassTables = Object.freeze({
  sources: Object.freeze(
    [
      {
        kind: "static",
        canonical: `${SRC}.StaticProxySource`,
        aliases: ["static", `${SRC}.StaticSource`, `${SRC}.sources.static.StaticProxySource`],
        supported: true,
      },
      {
        kind: "aurora",
        canonical: `${SRC}.AuroraProxySource`,
        aliases: ["aurora", `${SRC}.AuroraSource`, `${SRC}.sources.aurora.AuroraProxySource`],
        supported: true,
      },
      {
        kind: "serverset",
        canonical: `${SRC}.ServerSetSource`,
        aliases: ["serverset", `${SRC}.sources.serverset.ServerSetSource`],
        supported: true,
      },
      {
        kind: "mesos_master",
        canonical: `${SRC}.MesosMasterProxySource`,
        aliases: ["mesos_master", `${SRC}.sources.mesos.MesosMasterProxySource`],
        supported: true,
      },
      {
        kind: "api",
        canonical: `${SRC}.ApiSource`,
        aliases: ["api", `${SRC}.sources.api.ApiSource`],
        supported: false,
      },
    ] as const satisfies readonly ClassEntry<SourceKind>[],
  ),
  adjusters: Object.freeze(
    [
      {
        kind: "http_health",
        canonical: `${ADJ}.HttpHealthCheckShareAdjuster`,
        aliases: ["http_health", `${ADJ}.health.HttpHealthCheckShareAdjuster`],
        supported: true,
      },
      {
        kind: "ramp",
        canonical: `${ADJ}.RampingShareAdjuster`,
        aliases: ["ramp", `${ADJ}.ramp.RampingShareAdjuster`],
        supported: true,
      },
      {
        kind: "delay_start",
        canonical: `${ADJ}.DelayStartShareAdjuster`,
        aliases: ["delay_start", `${ADJ}.delay.DelayStartShareAdjuster`],
        supported: true,
      },
    ] as const satisfies readonly ClassEntry<AdjusterKind>[],
  ),
});

function withSupport(
  tables: ClassTables,
  kind: SourceKind | AdjusterKind,
  supported: boolean,
  reason?: string,
): ClassTables {
  const set = <K extends string>(t: readonly ClassEntry<K>[]) =>
    t.map((e) => e.kind === kind ? { ...e, supported, unsupportedReason: reason } : e);
  if (![...tables.sources, ...tables.adjusters].some((e) => e.kind === kind)) {
    throw new RangeError(`unknown class kind ${JSON.stringify(kind)}`);
  }
  return { sources: set(tables.sources), adjusters: set(tables.adjusters) };
}

/**
 * New tables in which `kind` is refused with `reason` (default `<ClassName> is not
 * supported yet`), for a caller that cannot serve it.
 *
 * @example
 * ```ts
 * const classes = markUnsupported(DEFAULT_CLASSES, "mesos_master", "no Mesos here");
 * parseConfig(raw, { classes }); // ...source_class: no Mesos here
 * ```
 */
export function markUnsupported(
  tables: ClassTables,
  kind: SourceKind | AdjusterKind,
  reason?: string,
): ClassTables {
  return withSupport(tables, kind, false, reason);
}

/**
 * New tables in which `kind` is accepted (say, once its implementation lands).
 *
 * @example
 * ```ts
 * const classes = markSupported(DEFAULT_CLASSES, "api");
 * ```
 */
export function markSupported(tables: ClassTables, kind: SourceKind | AdjusterKind): ClassTables {
  return withSupport(tables, kind, true);
}

/** Result of resolving a class path. */
export type Resolved<K> =
  | { readonly ok: true; readonly kind: K }
  | { readonly ok: false; readonly reason: string };

/** `ApiSource` from `tellapart.aurproxy.source.ApiSource`. */
function className(canonical: string): string {
  return canonical.slice(canonical.lastIndexOf(".") + 1);
}

/**
 * Resolves a class path or short name against a table. Unknown names get a did-you-mean
 * and the list of known classes (short name and canonical path).
 *
 * @example
 * ```ts
 * resolveClass(DEFAULT_CLASSES.sources, "tellapart.aurproxy.source.AuroraSource");
 * // { ok: true, kind: "aurora" }
 * ```
 */
export function resolveClass<K extends string>(
  table: readonly ClassEntry<K>[],
  name: string,
): Resolved<K> {
  const e = findClass(table, name);
  if (e?.supported) return { ok: true, kind: e.kind };
  if (e) {
    return {
      ok: false,
      reason: e.unsupportedReason ?? `${className(e.canonical)} is not supported yet`,
    };
  }
  const spellings = table.flatMap((e) => [e.canonical, ...e.aliases]);
  const hint = didYouMean(name, spellings);
  const known = table
    .map((e) => `${e.aliases[0]} (${e.canonical})${e.supported ? "" : " [not supported]"}`)
    .join(", ");
  return {
    ok: false,
    reason: `unknown class ${JSON.stringify(name)}${
      hint ? ` (did you mean "${hint}"?)` : ""
    }; known: ${known}`,
  };
}

/**
 * The entry a class path or short name names, supported or not; undefined when unknown.
 *
 * @example
 * ```ts
 * findClass(DEFAULT_CLASSES.sources, "api")?.canonical; // "tellapart.aurproxy.source.ApiSource"
 * ```
 */
export function findClass<K extends string>(
  table: readonly ClassEntry<K>[],
  name: string,
): ClassEntry<K> | undefined {
  return table.find((e) => e.canonical === name || e.aliases.includes(name));
}
