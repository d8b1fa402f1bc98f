/**
 * The ApiSources' shared objects, made once per process by `run` and `run_replay`: the
 * host the source kinds hand ApiSource configs to (see `lib/sources/api/host.ts`), with
 * the management port's routes, the bearer token of `--api-token-file` and the file
 * beside `--state-file` that keeps managed sources across restarts.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { BUILTIN_KINDS } from "../kinds.ts";
import type { Logger } from "../log.ts";
import type { RouteRegistry } from "../management/routes.ts";
import type { SourceConfig } from "../model/config.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import { ApiSourceHost } from "../sources/api/host.ts";
import { managedFilePath, ManagedSourceFile } from "../sources/api/managed_file.ts";
import { ApiToken } from "../sources/api/token.ts";
import type { Source } from "../sources/source.ts";

/** What the ApiSources are wired with. */
export interface ApiWiringOptions {
  readonly routes: RouteRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** `--api-token-file`. */
  readonly tokenFile?: string;
  /** `--state-file`: managed sources are kept beside it. */
  readonly stateFile?: string;
  /**
   * The managed-source file, already loaded: hosts that run side by side (the proxy's and
   * the mirror's, a graph and the one a SIGHUP builds) share one, so none overwrites the
   * others' entries. Default: loaded from beside `stateFile`.
   */
  readonly file?: ManagedSourceFile;
}

/** The host, and the source factory made with it (which builds managed sources too). */
export interface ApiWiring {
  readonly api: ApiSourceHost;
  readonly createSource: (config: SourceConfig) => Source;
}

/**
 * Reads the token and the managed-source file, then makes the host and, with
 * `makeFactory`, the source factory that knows it: ApiSources are built by that factory,
 * and build their managed sources with it. Throws UsageError (exit 2) when the token
 * file cannot be used.
 *
 * @example
 * ```ts
 * import { systemClock as clock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { RouteRegistry } from "../management/routes.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 * import { sourceFactory } from "../sources/kinds.ts";
 * import { ZkSessions } from "../zk/sessions.ts";
 *
 * const logger = memoryLogger(), metrics = new MetricsRegistry("aurproxy");
 * const sessions = new ZkSessions({ sessionTimeoutMs: 30_000, clock, logger, metrics });
 * const routes = new RouteRegistry();
 * const { api, createSource } = await apiSourceHost(
 *   { routes, clock, logger },
 *   (api) => sourceFactory({ sessions, clock, logger, metrics, api }),
 * );
 * api.sources.length; // 0 until createSource builds an ApiSource
 * ```
 */
export async function apiSourceHost(
  o: ApiWiringOptions,
  makeFactory: (api: ApiSourceHost) => (config: SourceConfig) => Source,
): Promise<ApiWiring> {
  const token = o.tokenFile ? await ApiToken.fromFile(o.tokenFile) : undefined;
  const logger = o.logger.child("api");
  const file = o.file ?? (o.stateFile ? await loadManagedFile(o.stateFile, o.logger) : undefined);
  const api = new ApiSourceHost({
    kinds: BUILTIN_KINDS,
    // Called only once sources are built, after the factory below exists.
    createSource: (c) => createSource(c),
    routes: o.routes,
    clock: o.clock,
    logger,
    token,
    file,
  });
  const createSource = makeFactory(api);
  return { api, createSource };
}

/** Loads the file beside `stateFile` that keeps ApiSources' managed sources. */
export function loadManagedFile(stateFile: string, logger: Logger): Promise<ManagedSourceFile> {
  return ManagedSourceFile.load(managedFilePath(stateFile), logger.child("api"));
}

/**
 * The snapshot as `/status.json` serves it: with the managed sources of every host (the
 * proxy's, the mirror's), when there are any.
 */
export function withApiSources(
  snap: ProxySnapshot | undefined,
  ...hosts: readonly ApiSourceHost[]
): ProxySnapshot | undefined {
  const apiSources = hosts.flatMap((h) => h.status());
  return snap && apiSources.length ? { ...snap, apiSources } : snap;
}
