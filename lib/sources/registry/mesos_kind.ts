/**
 * `MesosMasterProxySource`: the leading Mesos master.
 *
 * @module
 */

import type { MesosMasterSourceConfig } from "../../model/config.ts";
import { defineSourceKind } from "../kind.ts";
import { parsePreviousEndpoints } from "./previous_endpoints.ts";
import { checkZkServers, checkZnode } from "./checks.ts";
import { MesosMasterSource } from "./mesos.ts";

const SRC = "tellapart.aurproxy.source";

/** The Mesos-master source kind. */
export const mesosMasterKind = defineSourceKind<MesosMasterSourceConfig>({
  kind: "mesos_master",
  canonical: `${SRC}.MesosMasterProxySource`,
  aliases: ["mesos_master", `${SRC}.sources.mesos.MesosMasterProxySource`],
  parse: (f, common) => ({
    ...common,
    kind: "mesos_master",
    mesosMasterPath: f.requiredString("mesos_master_path", checkZnode),
    zkServers: f.requiredString("zk_servers", checkZkServers),
    ...parsePreviousEndpoints(f),
  }),
  create: (c, deps) => new MesosMasterSource(c, deps),
});
