/**
 * The snapshot a config's proxy check is run on when no registry is read: `validate`,
 * and a reload on SIGHUP before the new config replaces the running one.
 *
 * @module
 */

import type { ProxyConfig } from "../model/config.ts";
import type { PoolMember } from "../model/pool_member.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import { buildSnapshot } from "../pipeline/snapshot_builder.ts";

/** One endpoint in every pool: `nginx -t` must see every upstream, and never connects. */
const PLACEHOLDER: PoolMember = {
  endpoint: { host: "127.0.0.1", port: 1, ports: { default: 1 } },
  source: "placeholder endpoint for nginx -t",
  factors: [],
};

/**
 * The config's snapshot with a placeholder endpoint in every pool: upstream and stream
 * directives are rendered only for pools with endpoints. No registry is read. What the
 * proxy's own check (`nginx -t`) is run on, by `validate` and before a reload on SIGHUP.
 */
export function placeholderSnapshot(config: ProxyConfig): ProxySnapshot {
  const members = { primary: [PLACEHOLDER], overflow: [] };
  return buildSnapshot(config, () => members, { adjust: false, now: Date.now() });
}
