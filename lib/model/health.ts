/**
 * A health contribution: a level and one line per fact. Sources, ZooKeeper ensembles and
 * the pipeline produce them; the management port combines them for Aurora.
 *
 * @module
 */

export type HealthLevel = "ok" | "degraded" | "failed";

export interface HealthCheckResult {
  readonly level: HealthLevel;
  /** One line per fact, e.g. `zk 10.0.0.1:2181: disconnected for 12s`. */
  readonly lines: readonly string[];
}

/** Something that contributes to health (sources, ensembles, the updater). */
export type HealthProbe = () => HealthCheckResult;
