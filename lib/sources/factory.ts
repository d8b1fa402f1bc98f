/**
 * The table of source kinds: config → {@linkcode Source}. Class paths of the original
 * are resolved to kinds by `lib/config/classes.ts`; this file only builds instances.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { SourceConfig } from "../model/config.ts";
import { UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ZkSessions } from "../zk/sessions.ts";
import { AuroraSource } from "./registry/aurora.ts";
import { MesosMasterSource } from "./registry/mesos.ts";
import { ServerSetSource } from "./registry/serverset.ts";
import type { Source } from "./source.ts";
import type { EndpointStateStore } from "./state_file.ts";
import { StaticSource } from "./static.ts";

export interface SourceDeps {
  readonly sessions: ZkSessions;
  readonly state?: EndpointStateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

/**
 * @example
 * ```ts
 * const create = sourceFactory({ sessions, clock, logger, metrics });
 * const source = create(config.servers[0].routes[0].sources[0]);
 * ```
 */
export function sourceFactory(deps: SourceDeps): (config: SourceConfig) => Source {
  return (c) => {
    switch (c.kind) {
      case "static":
        return new StaticSource(c);
      case "serverset":
        return new ServerSetSource(c, deps);
      case "aurora":
        return new AuroraSource(c, deps);
      case "mesos_master":
        return new MesosMasterSource(c, deps);
      case "api":
        throw new UsageError(`${c.path}.source_class`, "ApiSource is not supported yet");
    }
  };
}
