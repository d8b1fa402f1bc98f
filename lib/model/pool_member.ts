/**
 * A pool member: an endpoint of a source, with its rendered address and the share factors
 * its adjusters give it. What the weight calculator and the snapshot builder consume.
 *
 * @module
 */

import type { Endpoint } from "./endpoint.ts";
import type { ShareFactor } from "./share.ts";

export interface PoolMember {
  readonly endpoint: Endpoint;
  /** The address to render when the host is a name aurproxy resolved; default the host. */
  readonly address?: string;
  readonly source: string;
  readonly factors: readonly ShareFactor[];
}
