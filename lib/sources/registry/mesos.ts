/**
 * `MesosMasterProxySource`: the leading Mesos master, i.e. the `json.info_` member with
 * the lowest sequence number under `mesos_master_path`. Leadership moves when that member
 * disappears; the source follows.
 *
 * @module
 */

import type { MesosMasterSourceConfig } from "../../model/config.ts";
import { parseMesosMaster } from "./member.ts";
import { normalizeZkPath, RegistrySource, type RegistrySourceDeps } from "./source.ts";

const PREFIX = "json.info_";

/** Named like `mesos:zk1:2181/mesos` (see `registrySourceName`). */
export class MesosMasterSource extends RegistrySource {
  constructor(
    c: Omit<MesosMasterSourceConfig, "kind" | "path" | "shareAdjusters">,
    deps: RegistrySourceDeps,
  ) {
    const zkPath = normalizeZkPath(c.mesosMasterPath);
    super({
      kind: "mesos",
      zkServers: c.zkServers,
      zkPath,
      filter: (child) => child.startsWith(PREFIX),
      // Members arrive sorted by name, and the zero-padded sequence suffix sorts
      // numerically: the first is the leader. Only the leader gets traffic, even when its
      // data is malformed (then nothing does): a follower is not a stand-in.
      choose: (children) => children.slice(0, 1),
      parse: (data, origin) => parseMesosMaster(data, origin),
      previousEndpoints: c.previousEndpoints,
    }, deps);
  }
}
