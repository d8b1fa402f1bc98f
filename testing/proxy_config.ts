/**
 * The aurproxy config most CLI tests run: nginx with its files in a test's dir, one server
 * on the test's proxy port, `/` routed to the test's sources. Each test adds what it is
 * about (a route's `empty_endpoint_status_code`, `stats_port`, more servers) by the
 * extension fields, so what differs from the usual reads at a glance.
 *
 * @module
 */

import { nginxKeys } from "./aurproxy_stack.ts";

/** What {@linkcode oneRouteConfig} is built from. */
export interface OneRouteConfig {
  /** The test's dir: nginx's files go there ({@linkcode nginxKeys}); none when omitted. */
  readonly dir?: string;
  /** The port the one server listens on. */
  readonly port: number;
  /** The sources of its one route, `/`. */
  readonly sources: readonly Record<string, unknown>[];
  /** `hosts: ["default"]` and `context.default_server`: the server answers any Host. */
  readonly defaultServer?: boolean;
  /** More keys of the route (`empty_endpoint_status_code`). */
  readonly route?: Readonly<Record<string, unknown>>;
  /** More top-level keys (`stats_port`), after the rest. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * `{ backend: "nginx", ...nginxKeys(dir), servers: [{ ports: [port], routes: [{ locations:
 * ["/"], sources }] }] }`, with the options' additions.
 *
 * @example
 * ```ts
 * const config = oneRouteConfig({
 *   dir: "/tmp/t",
 *   port: 8080,
 *   sources: [staticSource("web", 9090)],
 *   defaultServer: true,
 * });
 * config.configuration_file; // "/tmp/t/conf/nginx.conf"
 * ```
 */
export function oneRouteConfig(o: OneRouteConfig): Record<string, unknown> {
  const server = o.defaultServer
    ? { hosts: ["default"], ports: [o.port], context: { default_server: "True" } }
    : { ports: [o.port] };
  return {
    backend: "nginx",
    ...(o.dir === undefined ? {} : nginxKeys(o.dir)),
    servers: [{ ...server, routes: [{ locations: ["/"], ...o.route, sources: o.sources }] }],
    ...o.extra,
  };
}

/**
 * A static source for a backend on this host.
 *
 * @example
 * ```ts
 * staticSource("web", 9090); // { source_class: "static", name: "web", host: "127.0.0.1", port: 9090 }
 * ```
 */
export function staticSource(name: string, port: number): Record<string, unknown> {
  return { source_class: "static", name, host: "127.0.0.1", port };
}

/**
 * An Aurora job's members in ZooKeeper (`AuroraProxySource`), as the original's configs
 * name it.
 *
 * @example
 * ```ts
 * auroraSource("127.0.0.1:2181", "www-data", "devel", "web").job; // "web"
 * ```
 */
export function auroraSource(
  zkServers: string,
  role: string,
  environment: string,
  job: string,
): Record<string, unknown> {
  return {
    source_class: "tellapart.aurproxy.source.AuroraProxySource",
    zk_servers: zkServers,
    role,
    environment,
    job,
  };
}

/**
 * A ServerSet's members at `path` in ZooKeeper (`ServerSetSource`).
 *
 * @example
 * ```ts
 * serverSetSource("127.0.0.1:2181", "/sd/web").path; // "/sd/web"
 * ```
 */
export function serverSetSource(zkServers: string, path: string): Record<string, unknown> {
  return { source_class: "tellapart.aurproxy.source.ServerSetSource", zk_servers: zkServers, path };
}
