/**
 * Traffic mirroring and replay as one feature the CLI switches on: the mirror source, the
 * updater of gor's launch script and what runs gor (Thermos via the pid file, or
 * aurproxy's own supervised child). `aurproxy run --mirror-*` and `aurproxy run_replay`
 * both call {@linkcode startMirror} (or {@linkcode setupMirror} for `--setup`); only the
 * script's mode differs.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { SourceConfig } from "../model/config.ts";
import type { HealthCheckResult } from "../model/health.ts";
import type { Source } from "../sources/source.ts";
import type { GorScriptSpec, MirrorCommand } from "./gor_script.ts";
import { MirrorUpdater, type MirrorUpdaterStatus } from "./mirror_updater.ts";
import { PidFileRestarter } from "./pid_file_restarter.ts";
import type { ProcessTable } from "./process_table.ts";
import { SupervisedRunner } from "./supervised_runner.ts";
import type { SupervisorStatus } from "../process/supervisor.ts";

/** The mirror's settings, as the CLI validated them from flags. */
export interface MirrorSettings {
  readonly spec: GorScriptSpec;
  /** The mirror (or replay) source. */
  readonly source: SourceConfig;
  /** The launch script gor is run from. */
  readonly commandPath: string;
  /** Minimum seconds between two updates of the script. */
  readonly minIntervalSeconds: number;
  /** Run the script as aurproxy's own child instead of ending Thermos's by pid. */
  readonly supervise: boolean;
}

/** What the mirror is built with; shared objects come from the wiring. */
export interface MirrorDeps {
  /** Builds the source (the same factory as the proxy's sources). */
  readonly createSource: (config: SourceConfig) => Source;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** The process table the pid file is checked against; Linux's by default. */
  readonly processes?: ProcessTable;
}

/** A running mirror. */
export interface MirrorHandle {
  /** The mirror source (an API source's routes are mounted from it). */
  readonly source: Source;
  /** Degraded while script updates fail or the supervised gor is backing off. */
  health(): HealthCheckResult;
  status(): { updater: MirrorUpdaterStatus; gor?: SupervisorStatus };
  /** Stops following the source; stops gor only when aurproxy supervises it. */
  stop(): Promise<void>;
}

/**
 * `--setup`: starts the source, writes the script for its endpoints once, stops the
 * source. Ends no process.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { StaticSource } from "../sources/static.ts";
 * import { parseSourceJson } from "./source_config.ts";
 *
 * const dir = await Deno.makeTempDir(); // stands for /etc/aurproxy/gor and /tmp
 * const settings: MirrorSettings = {
 *   spec: { mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: `${dir}/mirror_pid`, ports: [8080], maxQps: 100 },
 *   source: parseSourceJson('{"source_class": "static", "name": "shadow", "host": "10.0.0.1", "port": 9000}', "--mirror-source"),
 *   commandPath: `${dir}/dynamic.sh`,
 *   minIntervalSeconds: 15,
 *   supervise: false,
 * };
 * const createSource = () => new StaticSource({ name: "shadow", host: "10.0.0.1", port: 9000 });
 * (await setupMirror(settings, { createSource, clock: systemClock, logger: memoryLogger() })).kind; // "gor"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function setupMirror(s: MirrorSettings, deps: MirrorDeps): Promise<MirrorCommand> {
  const source = deps.createSource(s.source);
  await source.start();
  try {
    return await updaterFor(s, deps, source).setup();
  } finally {
    await source.stop();
  }
}

/**
 * Starts the source, writes the first script and (supervised) starts gor; from then on
 * the script follows the source.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import type { SourceConfig } from "../model/config.ts";
 * import type { Source } from "../sources/source.ts";
 * import type { Logger } from "../log.ts";
 * import type { MetricsRegistry } from "../metrics/registry.ts";
 *
 * // Ends the gor process named in the pid file: declared here, not run.
 * async function wire(
 *   settings: MirrorSettings,
 *   createSource: (c: SourceConfig) => Source,
 *   logger: Logger,
 *   metrics: MetricsRegistry,
 * ) {
 *   const mirror = await startMirror(settings, { createSource, clock: systemClock, logger, metrics });
 *   return () => mirror.stop(); // a shutdown step
 * }
 * ```
 */
export async function startMirror(s: MirrorSettings, deps: MirrorDeps): Promise<MirrorHandle> {
  const log = deps.logger.child(s.spec.mode);
  const source = deps.createSource(s.source);
  const supervised = s.supervise
    ? new SupervisedRunner({ commandPath: s.commandPath, logger: log, clock: deps.clock })
    : undefined;
  const runner = supervised ?? new PidFileRestarter({
    pidPath: s.spec.pidPath,
    gorPath: s.spec.gorPath,
    commandPath: s.commandPath,
    logger: log,
    clock: deps.clock,
    processes: deps.processes,
  });
  const updater = updaterFor(s, { ...deps, logger: log }, source, runner);
  await source.start();
  try {
    await updater.start();
  } catch (err) {
    await source.stop();
    throw err;
  }
  return {
    source,
    health: () => {
      const u = updater.health();
      const gor = supervised?.status();
      if (gor?.state !== "backing_off") return u;
      const why = gor.lastExit?.error ?? `exit code ${gor.lastExit?.code ?? "?"}`;
      return { level: "degraded", lines: [...u.lines, `mirror: gor keeps exiting (${why})`] };
    },
    status: () => ({ updater: updater.status(), gor: supervised?.status() }),
    stop: async () => {
      await updater.stop();
      await runner.stop();
      await source.stop();
    },
  };
}

function updaterFor(
  s: MirrorSettings,
  deps: MirrorDeps,
  source: Source,
  runner?: PidFileRestarter | SupervisedRunner,
): MirrorUpdater {
  return new MirrorUpdater({
    spec: s.spec,
    commandPath: s.commandPath,
    minIntervalMs: s.minIntervalSeconds * 1000,
    targets: source,
    runner,
    clock: deps.clock,
    logger: deps.logger,
    metrics: deps.metrics,
  });
}
