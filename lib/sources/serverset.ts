/**
 * `ServerSetSource`: the members of a Finagle/Aurora serverset path in ZooKeeper.
 *
 * @module
 */

import type { ServerSetSourceConfig } from "../config/types.ts";
import { parseServerSetMember } from "./member.ts";
import { normalizeZkPath, RegistrySource, type RegistrySourceDeps } from "./registry_source.ts";

/**
 * @example
 * ```ts
 * const s = new ServerSetSource({ kind: "serverset", zkPath: "/sd/web", zkServers: "zk:2181", zkMemberPrefix: "member_", path: "", shareAdjusters: [] }, deps);
 * ```
 */
export class ServerSetSource extends RegistrySource {
  constructor(
    c: Omit<ServerSetSourceConfig, "kind" | "path" | "shareAdjusters">,
    deps: RegistrySourceDeps,
  ) {
    const zkPath = normalizeZkPath(c.zkPath);
    super({
      name: `serverset:${zkPath}${c.endpoint ? `#${c.endpoint}` : ""}`,
      zkServers: c.zkServers,
      zkPath,
      filter: (child) => child.startsWith(c.zkMemberPrefix),
      parse: (data, origin) => parseServerSetMember(data, { endpoint: c.endpoint, origin }),
    }, deps);
  }
}
