/**
 * What the ApiSources of one process share, created once in the wiring and handed to
 * the source kinds (`SourceDeps.api`): the kind table and source factory that managed
 * sources are parsed and built with, the management port's routes they mount on, the
 * bearer token, and the file that keeps them across restarts. It also lists the
 * ApiSources made, for `/status.json` and the status page, and refuses two of one name
 * (their routes would be the same).
 *
 * @module
 */

import type { Clock } from "../../clock.ts";
import type { ConfigKinds } from "../../config/kind.ts";
import { UsageError } from "../../errors.ts";
import type { Logger } from "../../log.ts";
import type { ApiSourceConfig, SourceConfig } from "../../model/config.ts";
import type { ApiSourceStatus } from "../../model/snapshot.ts";
import type { Source } from "../source.ts";
import { ApiSource } from "./api_source.ts";
import type { ManagedSourceFile } from "./managed_file.ts";
import { allowedKinds, checkStored } from "./put_body.ts";
import { mountApiRoutes, type RouteSink } from "./routes.ts";
import type { ApiToken } from "./token.ts";

/** The shared objects. */
export interface ApiSourceHostOptions {
  /** The kinds managed sources are parsed with (`BUILTIN_KINDS`). */
  readonly kinds: ConfigKinds;
  /** Builds a managed source: the proxy's own source factory. */
  readonly createSource: (config: SourceConfig) => Source;
  /** The management port's routes. */
  readonly routes: RouteSink;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Required for PUT and DELETE when set. */
  readonly token?: ApiToken;
  /** Keeps managed sources across restarts; without one they live in memory. */
  readonly file?: ManagedSourceFile;
}

/**
 * @example
 * ```ts
 * import { systemClock as clock } from "../../clock.ts";
 * import { BUILTIN_KINDS, parseSourceConfig } from "../../kinds.ts";
 * import { memoryLogger } from "../../log.ts";
 * import { RouteRegistry } from "../../management/routes.ts";
 * import { MetricsRegistry } from "../../metrics/registry.ts";
 * import { ZkSessions } from "../../zk/sessions.ts";
 * import { sourceFactory } from "../kinds.ts";
 *
 * const logger = memoryLogger(), metrics = new MetricsRegistry("aurproxy");
 * const sessions = new ZkSessions({ sessionTimeoutMs: 30_000, clock, logger, metrics });
 * const routes = new RouteRegistry();
 * const api: ApiSourceHost = new ApiSourceHost({
 *   kinds: BUILTIN_KINDS,
 *   // Managed sources are built by the factory that builds the ApiSource itself.
 *   createSource: (c) => createSource(c),
 *   routes,
 *   clock,
 *   logger,
 * });
 * const createSource = sourceFactory({ sessions, clock, logger, metrics, api });
 * createSource(parseSourceConfig({ source_class: "api", name: "replay" }));
 * routes.routes()[0].path; // "/api/source/replay/sources"
 * ```
 */
export class ApiSourceHost {
  readonly #o: ApiSourceHostOptions;
  readonly #sources: ApiSource[] = [];

  constructor(o: ApiSourceHostOptions) {
    this.#o = o;
  }

  /** The ApiSources made so far. */
  get sources(): readonly ApiSource[] {
    return this.#sources;
  }

  /** Builds the ApiSource of `config` and mounts its routes. */
  create(config: ApiSourceConfig): ApiSource {
    const other = this.#sources.find((s) => s.config.name === config.name);
    if (other) {
      throw new UsageError(
        `${config.path}.name`,
        `another ApiSource is named ${JSON.stringify(config.name)} (${other.config.path}); ` +
          "each needs its own name, which is part of its routes",
      );
    }
    const { kinds, clock } = this.#o;
    const allowed = allowedKinds(kinds, config.sourceWhitelist);
    const rules = () => ({ kinds, allowed, now: clock.now() });
    const logger = this.#o.logger.child(config.name);
    const source = new ApiSource(config, {
      createSource: this.#o.createSource,
      clock,
      logger,
      file: this.#o.file,
      checkStored: (raw, expiration) => checkStored(raw, expiration, rules()),
    });
    mountApiRoutes(this.#o.routes, source, { rules, token: this.#o.token, logger });
    this.#sources.push(source);
    return source;
  }

  /** Every ApiSource and its managed sources. */
  status(): ApiSourceStatus[] {
    return this.#sources.map((s) => ({
      name: s.config.name,
      path: s.config.path,
      sources: s.managed(),
    }));
  }
}
