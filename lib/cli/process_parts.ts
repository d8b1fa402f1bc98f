/**
 * The parts of `aurproxy run` that belong to the process, not to a graph, and so outlive
 * SIGHUP swaps: self registration (its flags checked before anything starts or is
 * written: a bad one exits 2), the mirror source (its own ZooKeeper sessions, no state
 * file) and the management routes of both.
 *
 * @module
 */

import { systemClock } from "../clock.ts";
import type { Logger } from "../log.ts";
import { RouteRegistry } from "../management/routes.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { MirrorDeps } from "../mirror/start_mirror.ts";
import { checkSelfRegistrationFlags, selfRegistrationFromFlags } from "../register/from_flags.ts";
import type { SelfRegistration } from "../register/self_registration.ts";
import { mountRegistrationStatus } from "../register/status_route.ts";
import type { ApiSourceHost } from "../sources/api/host.ts";
import type { ManagedSourceFile } from "../sources/api/managed_file.ts";
import { sourceFactory } from "../sources/kinds.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { apiSourceHost } from "./api_wiring.ts";
import type { RunOptions } from "./run_options.ts";

/** What {@linkcode processParts} builds. */
export interface ProcessParts {
  /** Self registration; undefined without `--registration-class`, and with `--setup`. */
  readonly registration?: SelfRegistration;
  /** The mirror source's ZooKeeper sessions; closing them is the caller's. */
  readonly mirrorSessions: ZkSessions;
  /** Routes of the process: the registration status, the mirror's ApiSource. */
  readonly processRoutes: RouteRegistry;
  /** The mirror's ApiSources, for the snapshot the management port shows. */
  readonly mirrorApi: ApiSourceHost;
  /** What starting the mirror needs. */
  readonly mirrorDeps: MirrorDeps;
}

/**
 * Builds them; throws a UsageError for a bad registration flag. With `--setup` the
 * registration flags are only checked.
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import { runOptions } from "./run_options.ts";
 * import { parseFlags, RUN_FLAGS } from "./flags.ts";
 *
 * async function example() {
 *   const opts = runOptions(parseFlags(["--config", "{}"], RUN_FLAGS));
 *   const logger = memoryLogger(), metrics = new MetricsRegistry("aurproxy");
 *   const parts = await processParts(opts, { logger, metrics });
 *   await parts.mirrorSessions.closeAll();
 * }
 * ```
 */
export async function processParts(
  opts: RunOptions,
  deps: {
    readonly logger: Logger;
    readonly metrics: MetricsRegistry;
    /** The ApiSources' managed-source file, shared with the graphs'. */
    readonly apiFile?: ManagedSourceFile;
  },
): Promise<ProcessParts> {
  const { logger: log, metrics, apiFile } = deps;
  let registration: SelfRegistration | undefined;
  const { className, args } = opts.registration ?? { args: [] };
  if (opts.setup) checkSelfRegistrationFlags(className, args);
  else {
    registration = await selfRegistrationFromFlags(className, args, {
      clock: systemClock,
      logger: log,
      metrics,
    });
  }
  // The mirror source outlives graph swaps: its own ZooKeeper sessions, no state file.
  const mirrorSessions = new ZkSessions({
    sessionTimeoutMs: opts.zkSessionTimeoutSeconds * 1000,
    clock: systemClock,
    logger: log.child("zk"),
    metrics,
  });
  // Routes of the process, not of a graph (they outlive SIGHUP swaps): the registration
  // status, and an ApiSource as the mirror source, which keeps its managed sources in
  // the proxy's file.
  const processRoutes = new RouteRegistry();
  if (registration) mountRegistrationStatus(processRoutes, registration);
  const mirrorWiring = await apiSourceHost(
    {
      routes: processRoutes,
      clock: systemClock,
      logger: log,
      tokenFile: opts.apiTokenFile,
      file: apiFile,
    },
    (api) =>
      sourceFactory({
        sessions: mirrorSessions,
        clock: systemClock,
        logger: log.child("source"),
        metrics,
        api,
      }),
  );
  const mirrorApi = mirrorWiring.api;
  const mirrorDeps: MirrorDeps = {
    createSource: mirrorWiring.createSource,
    clock: systemClock,
    logger: log,
    metrics,
  };
  return { registration, mirrorSessions, processRoutes, mirrorApi, mirrorDeps };
}
