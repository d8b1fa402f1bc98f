/**
 * Class paths of the original aurproxy resolved to the built-in kinds. Existing configs
 * name Python classes (`tellapart.aurproxy.source.AuroraProxySource`); a table is all the
 * "plugin loading" TypeScript needs.
 *
 * @module
 */

import type { AdjusterConfig, SourceConfig } from "./types.ts";

export type SourceKind = SourceConfig["kind"];
export type AdjusterKind = AdjusterConfig["kind"];

interface ClassEntry<K> {
  readonly kind: K;
  /** The original's canonical class path, shown in "known classes" lists. */
  readonly canonical: string;
  /** Every other spelling that resolves to the kind. */
  readonly aliases: readonly string[];
  /** Set while the kind is recognised but not implemented. */
  readonly unsupported?: string;
}

const SRC = "tellapart.aurproxy.source";
const ADJ = "tellapart.aurproxy.share.adjusters";

export const SOURCE_CLASSES: readonly ClassEntry<SourceKind>[] = [
  {
    kind: "static",
    canonical: `${SRC}.StaticProxySource`,
    aliases: ["static", `${SRC}.StaticSource`, `${SRC}.sources.static.StaticProxySource`],
  },
  {
    kind: "aurora",
    canonical: `${SRC}.AuroraProxySource`,
    aliases: ["aurora", `${SRC}.AuroraSource`, `${SRC}.sources.aurora.AuroraProxySource`],
  },
  {
    kind: "serverset",
    canonical: `${SRC}.ServerSetSource`,
    aliases: ["serverset", `${SRC}.sources.serverset.ServerSetSource`],
  },
  {
    kind: "mesos_master",
    canonical: `${SRC}.MesosMasterProxySource`,
    aliases: ["mesos_master", "mesos", `${SRC}.sources.mesos.MesosMasterProxySource`],
  },
  {
    kind: "api",
    canonical: `${SRC}.ApiSource`,
    aliases: ["api", `${SRC}.sources.api.ApiSource`],
    unsupported: "ApiSource is not supported yet",
  },
];

export const ADJUSTER_CLASSES: readonly ClassEntry<AdjusterKind>[] = [
  {
    kind: "http_health",
    canonical: `${ADJ}.HttpHealthCheckShareAdjuster`,
    aliases: ["http_health", `${ADJ}.health.HttpHealthCheckShareAdjuster`],
  },
  {
    kind: "ramp",
    canonical: `${ADJ}.RampingShareAdjuster`,
    aliases: ["ramp", `${ADJ}.ramp.RampingShareAdjuster`],
  },
  {
    kind: "delay_start",
    canonical: `${ADJ}.DelayStartShareAdjuster`,
    aliases: ["delay_start", `${ADJ}.delay.DelayStartShareAdjuster`],
  },
];

/** Result of resolving a class path. */
export type Resolved<K> =
  | { readonly ok: true; readonly kind: K }
  | { readonly ok: false; readonly reason: string };

/**
 * Resolves a class path or short name against a table.
 *
 * @example
 * ```ts
 * resolveClass(SOURCE_CLASSES, "tellapart.aurproxy.source.AuroraSource"); // { ok: true, kind: "aurora" }
 * ```
 */
export function resolveClass<K>(table: readonly ClassEntry<K>[], name: string): Resolved<K> {
  for (const e of table) {
    if (e.canonical === name || e.aliases.includes(name)) {
      return e.unsupported ? { ok: false, reason: e.unsupported } : { ok: true, kind: e.kind };
    }
  }
  const known = table.filter((e) => !e.unsupported)
    .map((e) => `${e.aliases[0]} (${e.canonical})`).join(", ");
  return { ok: false, reason: `unknown class ${JSON.stringify(name)}; known: ${known}` };
}
