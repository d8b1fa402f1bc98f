/**
 * The source kinds this build knows, and the factory that builds a running source from a
 * parsed config by its kind.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { SourceConfig } from "../model/config.ts";
import { apiKind } from "./api/kind.ts";
import type { SourceDeps, SourceKind } from "./kind.ts";
import { auroraKind } from "./registry/aurora_kind.ts";
import { mesosMasterKind } from "./registry/mesos_kind.ts";
import { serversetKind } from "./registry/serverset_kind.ts";
import type { Source } from "./source.ts";
import { staticKind } from "./static_kind.ts";

/** Every source kind, in the order "known classes" lists show them. */
export const SOURCE_KINDS: readonly SourceKind[] = Object.freeze([
  staticKind,
  auroraKind,
  serversetKind,
  mesosMasterKind,
  apiKind,
]);

/**
 * Builds sources with `deps`, each by its config's kind in `kinds`.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { parseSourceConfig } from "../kinds.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import { ZkSessions } from "../zk/sessions.ts";
 * const clock = systemClock, logger = memoryLogger(), metrics = new MetricsRegistry("aurproxy");
 * const sessions = new ZkSessions({ sessionTimeoutMs: 30_000, clock, logger, metrics });
 * const create = sourceFactory({ sessions, clock, logger, metrics });
 * const config = parseSourceConfig({ source_class: "static", name: "a", host: "10.0.0.1", port: 80 });
 * create(config).endpoints(); // [{ host: "10.0.0.1", port: 80, ports: { default: 80 } }]
 * ```
 */
export function sourceFactory(
  deps: SourceDeps,
  kinds: readonly SourceKind[] = SOURCE_KINDS,
): (config: SourceConfig) => Source {
  return (c) => {
    const kind = kinds.find((k) => k.kind === c.kind);
    if (!kind) throw new UsageError(`${c.path}.source_class`, `no source kind "${c.kind}"`);
    return kind.create(c, deps);
  };
}
