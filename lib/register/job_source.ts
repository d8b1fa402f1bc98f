/**
 * The registration source of `synchronize`: one source config (as in `--config`), read
 * once for the hosts of its endpoints.
 *
 * A source that cannot be read is an error, never "no hosts": ZooKeeper not reached, a
 * read that failed, or a ZooKeeper path that does not exist. Otherwise a `synchronize`
 * with `remove_other_instances` during an outage would remove every instance it knows.
 * A path that exists with no members is a job with no instances: zero hosts (the
 * last-member guard of the plan still applies).
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import { parseJsonText } from "../config/load.ts";
import { parseSourceConfig } from "../kinds.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { SourceConfig } from "../model/config.ts";
import { sourceFactory } from "../sources/kinds.ts";
import { RegistrySource } from "../sources/registry/source.ts";
import { ZkSessions } from "../zk/sessions.ts";

const FLAG = "--registration-source";

/** The source could not be read: `synchronize` must not decide anything. */
export class SourceUnreadableError extends Error {
  override name = "SourceUnreadableError";
}

/**
 * Parses `--registration-source`: a JSON object with `source_class` and that class's
 * keys. Throws UsageError(s) whose paths start with `--registration-source`.
 *
 * @example
 * ```ts
 * parseRegistrationSource('{"source_class": "static", "name": "x", "host": "h", "port": 80}').kind;
 * // "static"
 * ```
 */
export function parseRegistrationSource(json: string): SourceConfig {
  const raw = parseJsonText(json, FLAG);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UsageError(FLAG, "expected a JSON object with source_class");
  }
  return parseSourceConfig(raw, { root: FLAG });
}

/** What reading a source needs. */
export interface SourceReadDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** ZooKeeper session timeout. */
  readonly zkSessionTimeoutMs: number;
}

/**
 * Starts the source, takes its endpoints' hosts (each once, in order) and stops it.
 * Throws {@linkcode SourceUnreadableError} when the list cannot be trusted.
 *
 * @example
 * ```ts
 * import { systemClock as clock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const json = '{"source_class": "static", "name": "x", "host": "10.0.0.5", "port": 80}';
 * const deps = { clock, logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy"), zkSessionTimeoutMs: 30_000 };
 * await readSourceHostsOnce(parseRegistrationSource(json), deps); // ["10.0.0.5"]
 * ```
 */
export async function readSourceHostsOnce(
  config: SourceConfig,
  deps: SourceReadDeps,
): Promise<string[]> {
  const sessions = new ZkSessions({
    sessionTimeoutMs: deps.zkSessionTimeoutMs,
    clock: deps.clock,
    logger: deps.logger.child("zk"),
    metrics: deps.metrics,
  });
  try {
    // No state file: last known endpoints are exactly what must not be synchronized.
    const source = sourceFactory({
      sessions,
      clock: deps.clock,
      logger: deps.logger.child("source"),
      metrics: deps.metrics,
    })(config);
    try {
      await source.start();
      const st = source.status?.();
      if (st && !st.healthy) {
        throw new SourceUnreadableError(`${source.name}: ${st.detail}`);
      }
      if (source instanceof RegistrySource && "zkServers" in config) {
        let exists: boolean;
        try {
          exists = await sessions.get(config.zkServers).exists(source.zkPath);
        } catch (err) {
          throw new SourceUnreadableError(
            `${source.name}: checking ${source.zkPath} failed: ${(err as Error).message}`,
          );
        }
        if (!exists) {
          throw new SourceUnreadableError(
            `${source.name}: ZooKeeper path ${source.zkPath} does not exist`,
          );
        }
      }
      return [...new Set(source.endpoints().map((e) => e.host))];
    } finally {
      await source.stop();
    }
  } finally {
    await sessions.closeAll();
  }
}
