/**
 * A large `--config` for measuring `aurproxy validate` (and parsing, rendering) at scale:
 * `servers` servers with one route and one static source each. Shared by the unit tests
 * and `bench/validate.ts`.
 *
 * @module
 */

/** How {@linkcode bigConfig} tells its servers apart. */
export interface BigConfigOptions {
  /**
   * `"ports"`: every server on its own port (`basePort + i`), no host names.
   * `"hosts"`: every server on `basePort`, answering its own name (`s<i>.example.com`):
   * name-based virtual hosting, the case where port clashes must be checked by name.
   * Default `"hosts"`.
   */
  readonly spread?: "ports" | "hosts";
  /**
   * With `"hosts"`: spread the named servers over this many ports (`basePort` onward,
   * server `i` on `basePort + i % portCount`); default 1.
   */
  readonly portCount?: number;
  /** First (or only) listen port; default 20000. */
  readonly basePort?: number;
  /** Port of every static source; default 9000 (nothing needs to listen for `validate`). */
  readonly backendPort?: number;
  /** Extra top-level keys, e.g. `configuration_file`, `nginx_pid_path`, `nginx_prefix`. */
  readonly top?: Readonly<Record<string, unknown>>;
}

/**
 * The JSON object of a config with `servers` servers.
 *
 * @example
 * ```ts
 * const dir = await Deno.makeTempDir();
 * const raw = bigConfig(20_000, { spread: "hosts", top: { nginx_prefix: dir } });
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(raw));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function bigConfig(servers: number, opts: BigConfigOptions = {}): Record<string, unknown> {
  const spread = opts.spread ?? "hosts";
  const basePort = opts.basePort ?? 20000;
  const portCount = opts.portCount ?? 1;
  if (spread === "ports" && basePort + servers - 1 > 65535) {
    throw new RangeError(`${servers} servers from port ${basePort} pass 65535`);
  }
  return {
    backend: "nginx",
    // nginx wants a worker connection per listening socket.
    context: { worker_connections: (spread === "ports" ? servers : portCount) + 1000 },
    ...opts.top,
    servers: Array.from({ length: servers }, (_, i) => ({
      hosts: spread === "hosts" ? [`s${i}.example.com`] : [],
      ports: [basePort + (spread === "ports" ? i : i % portCount)],
      routes: [{
        locations: ["/"],
        sources: [{
          source_class: "tellapart.aurproxy.source.StaticProxySource",
          name: `s${i}`,
          host: "127.0.0.1",
          port: opts.backendPort ?? 9000,
        }],
      }],
    })),
  };
}
