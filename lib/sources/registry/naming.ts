/**
 * How registry sources are named and their paths written: the name is a source's
 * state-file key, its metric label and its name in logs, so it must be stable and unique.
 *
 * @module
 */

import { normalizeEnsemble } from "../../zk/sessions.ts";
import { MEMBER_PREFIX } from "./member_prefix.ts";

/** `/a//b/` → `/a/b`: ZooKeeper paths have no empty or trailing segments. */
export function normalizeZkPath(...parts: string[]): string {
  const segs = parts.join("/").split("/").filter(Boolean);
  return "/" + segs.join("/");
}

/**
 * A registry source's name, used for its state-file entry, its metrics and logs: unique
 * per ensemble, path and member selection, so that sources on two ensembles with the same
 * job path never share a saved entry or a metric, yet readable as a ZooKeeper address.
 *
 * @example
 * ```ts
 * registrySourceName("aurora", "zk2:2181, zk1:2181", "/aurora/www-data/prod/web", "#http");
 * // "aurora:zk1:2181,zk2:2181/aurora/www-data/prod/web#http"
 * ```
 */
export function registrySourceName(
  kind: string,
  zkServers: string,
  zkPath: string,
  qualifier = "",
): string {
  return `${kind}:${normalizeEnsemble(zkServers)}${zkPath}${qualifier}`;
}

/**
 * The qualifier of a serverset-style source: the member prefix unless unset or Aurora's
 * (`/node_*`; both select Aurora's members, and keep the names state files already
 * hold), then the named endpoint (`#http`).
 */
export function memberQualifier(memberPrefix: string | undefined, endpoint?: string): string {
  const prefix = memberPrefix === undefined || memberPrefix === MEMBER_PREFIX
    ? ""
    : `/${memberPrefix}*`;
  return `${prefix}${endpoint ? `#${endpoint}` : ""}`;
}
