/**
 * Two servers may share a port only for name-based virtual hosting over HTTP: neither
 * serves TCP streams, no host name is answered by both, and at most one is the
 * `default_server`. Found per port through indexes by name, so 20,000 virtual hosts on
 * one port cost 20,000 look-ups, not 200 million comparisons.
 *
 * @module
 */

import type { ServerConfig } from "../model/config.ts";
import { isTrue } from "./context.ts";
import type { Walker } from "./walker.ts";

/** The names nginx compares: `default` and no hosts both render as `_`. */
function serverNames(s: ServerConfig): string[] {
  const names = s.hosts.map((h) => (h === "default" ? "_" : h.toLowerCase()));
  return names.length ? names : ["_"];
}

/** Why `a` and `b`, both listening on one port, cannot share it; undefined if they can. */
function clash(a: ServerConfig, b: ServerConfig): string | undefined {
  if (a.streams.length || b.streams.length) return "a TCP (streams) server cannot share its port";
  const names = new Set(serverNames(b));
  if (serverNames(a).some((h) => names.has(h))) return "both answer the same host names";
  if (isTrue(a.context.default_server) && isTrue(b.context.default_server)) {
    return "both are default_server";
  }
  return undefined;
}

/** The servers on one port so far, indexed by what makes two of them clash. */
interface PortIndex {
  /** Every server on the port, by position. */
  readonly all: number[];
  readonly streams: number[];
  readonly defaults: number[];
  readonly byName: Map<string, number[]>;
}

/**
 * Reports, on the later server's `ports`, every pair of servers that cannot share a port
 * they both list: `port 8080 is also used by servers[0]: both answer the same host names`.
 *
 * @example
 * ```ts
 * import { parseServer } from "./servers.ts";
 * import { slugAllocator } from "./slugs.ts";
 * import { Walker } from "./walker.ts";
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const walker = new Walker();
 * const ctx = { walker, kinds: BUILTIN_KINDS, uniqueSlug: slugAllocator() };
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const server = { ports: [8080], routes: [{ locations: ["/"], sources: [source] }] };
 * const servers = [0, 1].map((i) => parseServer(server, `servers[${i}]`, ctx)!);
 * checkPortClashes(walker, servers);
 * walker.errors[0].message;
 * // servers[1].ports: port 8080 is also used by servers[0]: both answer the same host names
 * ```
 */
export function checkPortClashes(w: Walker, servers: readonly ServerConfig[]): void {
  const ports = new Map<number, PortIndex>();
  /** [earlier server, later server, port]: reported in the order of the pairs. */
  const found: [number, number, number][] = [];
  servers.forEach((b, j) => {
    const names = serverNames(b);
    const isDefault = isTrue(b.context.default_server);
    for (const port of b.ports) {
      let idx = ports.get(port);
      if (!idx) ports.set(port, idx = { all: [], streams: [], defaults: [], byName: new Map() });
      // Only these earlier servers can clash with b; a clean config finds none.
      const candidates = new Set<number>(b.streams.length ? idx.all : idx.streams);
      for (const n of names) for (const i of idx.byName.get(n) ?? []) candidates.add(i);
      if (isDefault) { for (const i of idx.defaults) candidates.add(i); }
      for (const i of candidates) found.push([i, j, port]);
      idx.all.push(j);
      if (b.streams.length) idx.streams.push(j);
      if (isDefault) idx.defaults.push(j);
      for (const n of new Set(names)) {
        const list = idx.byName.get(n);
        if (list) list.push(j);
        else idx.byName.set(n, [j]);
      }
    }
  });
  const order = ([i, j, p]: [number, number, number]) => [i, j, servers[i].ports.indexOf(p)];
  found.sort((x, y) => {
    const [a, b] = [order(x), order(y)];
    return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  });
  for (const [i, j, port] of found) {
    const a = servers[i], b = servers[j];
    const why = clash(a, b);
    if (why) w.fail(`${b.path}.ports`, `port ${port} is also used by ${a.path}: ${why}`);
  }
}
