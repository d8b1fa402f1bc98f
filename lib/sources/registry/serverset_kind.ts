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

/** `zk_member_prefix` when not set: the serverset convention (`member_0000000001`). */
export const MEMBER_PREFIX = "member_";

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
    zkMemberPrefix: f.stringOr("zk_member_prefix", MEMBER_PREFIX, checkName),
    ...parsePreviousEndpoints(f),
  }),
  create: (c, deps) => new ServerSetSource(c, deps),
});
