/**
 * `ServerSetSource`: the members of a Finagle/Aurora serverset path in ZooKeeper.
 *
 * @module
 */

import type { ServerSetSourceConfig } from "../../model/config.ts";
import { parseServerSetMember } from "./member.ts";
import {
  memberQualifier,
  normalizeZkPath,
  RegistrySource,
  type RegistrySourceDeps,
} from "./source.ts";

/**
 * Named like `serverset:zk1:2181,zk2:2181/sd/web#http` (see `registrySourceName`).
 *
 * @example
 * ```ts
 * import type { RegistrySourceDeps } from "./source.ts";
 *
 * function web(deps: RegistrySourceDeps) {
 *   return new ServerSetSource({ zkPath: "/sd/web", zkServers: "zk:2181", zkMemberPrefix: "member_" }, deps);
 * }
 * ```
 */
export class ServerSetSource extends RegistrySource {
  /** `kind` names the source's flavour (the Aurora source is a serverset too). */
  constructor(
    c: Omit<ServerSetSourceConfig, "kind" | "path" | "shareAdjusters">,
    deps: RegistrySourceDeps,
    kind = "serverset",
  ) {
    const zkPath = normalizeZkPath(c.zkPath);
    super({
      kind,
      qualifier: memberQualifier(c.zkMemberPrefix, c.endpoint),
      zkServers: c.zkServers,
      zkPath,
      filter: (child) => c.zkMemberPrefix === undefined || child.startsWith(c.zkMemberPrefix),
      parse: (data, origin) => parseServerSetMember(data, { endpoint: c.endpoint, origin }),
      previousEndpoints: c.previousEndpoints,
    }, deps);
  }
}
