/**
 * Two servers may share a port only for name-based virtual hosting over HTTP: neither
 * serves TCP streams, no host name is answered by both, and at most one is the
 * `default_server`.
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

/**
 * Reports, on the later server's `ports`, every pair of servers that cannot share a port
 * they both list: `port 8080 is also used by servers[0]: both answer the same host names`.
 *
 * @example
 * ```ts
 * checkPortClashes(walker, servers);
 * ```
 */
export function checkPortClashes(w: Walker, servers: readonly ServerConfig[]): void {
  for (let i = 0; i < servers.length; i++) {
    for (let j = i + 1; j < servers.length; j++) {
      const a = servers[i], b = servers[j];
      for (const port of a.ports.filter((p) => b.ports.includes(p))) {
        const why = clash(a, b);
        if (why) w.fail(`${b.path}.ports`, `port ${port} is also used by ${a.path}: ${why}`);
      }
    }
  }
}
