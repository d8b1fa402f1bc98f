/**
 * What changed between two snapshots, upstream by upstream: endpoints that joined, left,
 * or changed weight. Pure. Upstreams that are the same object in both snapshots are
 * skipped without looking inside (the snapshot builder reuses unchanged ones), so the cost
 * is proportional to what changed.
 *
 * @module
 */

import { endpointKey } from "../model/endpoint.ts";
import type { Pool, ProxySnapshot, Upstream, WeightedEndpoint } from "../model/snapshot.ts";

/** An endpoint in a diff: `host:port` and its pool. */
export interface DiffEndpoint {
  readonly endpoint: string;
  readonly pool: Pool;
}

/** An endpoint whose weight moved. */
export interface WeightChange extends DiffEndpoint {
  readonly from: number;
  readonly to: number;
}

/** The changes of one upstream. Lists keep at most `limit` items; the counts are exact. */
export interface UpstreamDiff {
  readonly upstream: string;
  readonly joined: readonly DiffEndpoint[];
  readonly joinedCount: number;
  readonly left: readonly DiffEndpoint[];
  readonly leftCount: number;
  readonly reweighted: readonly WeightChange[];
  readonly reweightedCount: number;
}

function upstreams(snap: ProxySnapshot | undefined): Upstream[] {
  return snap ? snap.servers.flatMap((s) => [...s.routes, ...s.streams]) : [];
}

const keyOf = (e: WeightedEndpoint) => `${e.pool} ${endpointKey(e)}`;
const entry = (e: WeightedEndpoint): DiffEndpoint => ({ endpoint: endpointKey(e), pool: e.pool });

function diffUpstream(
  slug: string,
  before: readonly WeightedEndpoint[],
  after: Upstream,
  limit: number,
): UpstreamDiff | undefined {
  const old = new Map(before.map((e) => [keyOf(e), e]));
  const joined: DiffEndpoint[] = [];
  const reweighted: WeightChange[] = [];
  let joinedCount = 0;
  let reweightedCount = 0;
  for (const e of after.endpoints) {
    const k = keyOf(e);
    const was = old.get(k);
    old.delete(k);
    if (!was) {
      if (joinedCount++ < limit) joined.push(entry(e));
    } else if (was.weight !== e.weight) {
      if (reweightedCount++ < limit) {
        reweighted.push({ ...entry(e), from: was.weight, to: e.weight });
      }
    }
  }
  const gone = [...old.values()];
  if (!joinedCount && !reweightedCount && !gone.length) return undefined;
  return {
    upstream: slug,
    joined,
    joinedCount,
    left: gone.slice(0, limit).map(entry),
    leftCount: gone.length,
    reweighted,
    reweightedCount,
  };
}

/**
 * The upstreams whose endpoints or weights differ, in snapshot order. With no `previous`,
 * every endpoint joined. An upstream only in `previous` counts as all its endpoints left.
 *
 * @example
 * ```ts
 * const changes = diffSnapshots(before, after);
 * changes[0]; // { upstream: "s_default_80_r0", joined: [{ endpoint: "10.0.0.3:31000", pool: "primary" }], ... }
 * ```
 */
export function diffSnapshots(
  previous: ProxySnapshot | undefined,
  next: ProxySnapshot,
  limit = Infinity,
): UpstreamDiff[] {
  const before = new Map(upstreams(previous).map((u) => [u.slug, u]));
  const out: UpstreamDiff[] = [];
  for (const u of upstreams(next)) {
    const was = before.get(u.slug);
    before.delete(u.slug);
    if (was === u) continue;
    const d = diffUpstream(u.slug, was?.endpoints ?? [], u, limit);
    if (d) out.push(d);
  }
  for (const [slug, was] of before) {
    const d = diffUpstream(slug, was.endpoints, { ...was, endpoints: [] }, limit);
    if (d) out.push(d);
  }
  return out;
}
