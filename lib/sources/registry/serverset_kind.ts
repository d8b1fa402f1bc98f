/**
 * `ServerSetSource`: the members of a Finagle/Aurora serverset path.
 *
 * @module
 */

import { checkName } from "../../config/checks.ts";
import type { ServerSetSourceConfig } from "../../model/config.ts";
import { defineSourceKind } from "../kind.ts";
import { parsePreviousEndpoints } from "./previous_endpoints.ts";
import { checkZkServers, checkZnode } from "./checks.ts";
import { ServerSetSource } from "./serverset.ts";

const SRC = "tellapart.aurproxy.source";

export { MEMBER_PREFIX } from "./member_prefix.ts";

/** The serverset source kind. */
export const serversetKind = defineSourceKind<ServerSetSourceConfig>({
  kind: "serverset",
  canonical: `${SRC}.ServerSetSource`,
  aliases: ["serverset", `${SRC}.sources.serverset.ServerSetSource`],
  parse: (f, common) => ({
    ...common,
    kind: "serverset",
    zkPath: f.requiredString("path", checkZnode),
    zkServers: f.requiredString("zk_servers", checkZkServers),
    endpoint: f.string("endpoint", checkName),
    // Unset: every child of the path, as the original's ServerSet without a member_filter.
    zkMemberPrefix: f.string("zk_member_prefix", checkName),
    ...parsePreviousEndpoints(f),
  }),
  create: (c, deps) => new ServerSetSource(c, deps),
});
