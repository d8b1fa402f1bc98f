/**
 * An ApiSource wired as `run` wires it (the build's kinds, the real source factory, a
 * route registry as the management port has), for tests that drive its HTTP API without
 * a process: `req` sends a request through the registry's handler.
 *
 * @module
 */

import type { Clock } from "../lib/clock.ts";
import { parseSourceConfig } from "../lib/kinds.ts";
import { memoryLogger } from "../lib/log.ts";
import { managementHandler } from "../lib/management/server.ts";
import { RouteRegistry } from "../lib/management/routes.ts";
import { MetricsRegistry } from "../lib/metrics/registry.ts";
import type { ApiSourceConfig, SourceConfig } from "../lib/model/config.ts";
import type { ApiSource } from "../lib/sources/api/api_source.ts";
import { ApiSourceHost } from "../lib/sources/api/host.ts";
import type { ManagedSourceFile } from "../lib/sources/api/managed_file.ts";
import type { ApiToken } from "../lib/sources/api/token.ts";
import { BUILTIN_KINDS } from "../lib/kinds.ts";
import { sourceFactory } from "../lib/sources/kinds.ts";
import type { Source } from "../lib/sources/source.ts";
import { ZkSessions } from "../lib/zk/sessions.ts";

export interface ApiFixtureOptions {
  readonly clock: Clock;
  /** The ApiSource's JSON config (default `{"source_class": "api", "name": "dyn"}`). */
  readonly config?: Record<string, unknown>;
  readonly token?: ApiToken;
  readonly file?: ManagedSourceFile;
  /** Wraps the factory managed sources are built with (to make one fail, say). */
  readonly wrap?: (create: (c: SourceConfig) => Source) => (c: SourceConfig) => Source;
}

export interface ApiFixture {
  readonly api: ApiSource;
  readonly host: ApiSourceHost;
  readonly routes: RouteRegistry;
  readonly logger: ReturnType<typeof memoryLogger>;
  /** Sends a request to the management handler; a non-string body is sent as JSON. */
  req(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Closes the ZooKeeper sessions the factory holds (none for static sources). */
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * import { FakeClock } from "./fake_clock.ts";
 * const f = apiFixture({ clock: new FakeClock() });
 * await f.api.start();
 * (await f.req("GET", "/api/source/dyn/sources")).status; // 200
 * await f.api.stop();
 * await f.close();
 * ```
 */
export function apiFixture(o: ApiFixtureOptions): ApiFixture {
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: o.clock, logger, metrics });
  const routes = new RouteRegistry();
  const host: ApiSourceHost = new ApiSourceHost({
    kinds: BUILTIN_KINDS,
    createSource: (c) => create(c),
    routes,
    clock: o.clock,
    logger,
    token: o.token,
    file: o.file,
  });
  const base = sourceFactory({ sessions, clock: o.clock, logger, metrics, api: host });
  const create = o.wrap ? o.wrap(base) : base;
  const config = parseSourceConfig(o.config ?? { source_class: "api", name: "dyn" }, {
    root: "servers[0].routes[0].sources[0]",
  }) as ApiSourceConfig;
  const api = base(config) as ApiSource;
  const handler = managementHandler({
    hostname: "127.0.0.1",
    port: 0,
    logger,
    metrics,
    health: [],
    snapshot: () => undefined,
    shutdown: () => {},
    routes,
  });
  const peer = "127.0.0.9";
  return {
    api,
    host,
    routes,
    logger,
    req: (method, path, body, headers = {}) =>
      handler(
        new Request(`http://127.0.0.1:9999${path}`, {
          method,
          // As on the wire: the Host header an HTTP/1.1 client always sends.
          headers: { host: "127.0.0.1:9999", ...headers },
          body: body === undefined
            ? undefined
            : typeof body === "string" || body instanceof Uint8Array ||
                body instanceof ReadableStream
            ? body as BodyInit
            : JSON.stringify(body),
        }),
        peer,
      ),
    close: () => sessions.closeAll(),
  };
}

/** A static source config on 127.0.0.1. */
export const staticSource = (port: number, name = `s${port}`) => ({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name,
  host: "127.0.0.1",
  port,
});
