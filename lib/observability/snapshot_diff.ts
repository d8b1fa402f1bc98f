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
const sameEndpoint = (a: WeightedEndpoint, b: WeightedEndpoint) =>
  a.port === b.port && a.host === b.host && a.pool === b.pool;

function diffUpstream(
  slug: string,
  before: readonly WeightedEndpoint[],
  after: readonly WeightedEndpoint[],
  limit: number,
): UpstreamDiff | undefined {
  const reweighted: { at: number; change: WeightChange }[] = [];
  const compare = (was: WeightedEndpoint, e: WeightedEndpoint, at: number) => {
    if (was.weight !== e.weight) {
      reweighted.push({ at, change: { ...entry(e), from: was.weight, to: e.weight } });
    }
  };
  // Endpoints mostly keep their order from one snapshot to the next: walk both lists
  // together, stepping over a single insertion or removal, and set aside what does not
  // pair up. Only that remainder is looked up by key (it also catches endpoints that moved).
  let left: WeightedEndpoint[] = [];
  let joined: { e: WeightedEndpoint; at: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    if (sameEndpoint(before[i], after[j])) compare(before[i++], after[j], j++);
    else if (i + 1 < before.length && sameEndpoint(before[i + 1], after[j])) left.push(before[i++]);
    else if (j + 1 < after.length && sameEndpoint(before[i], after[j + 1])) {
      joined.push({ e: after[j], at: j++ });
    } else {
      left.push(before[i++]);
      joined.push({ e: after[j], at: j++ });
    }
  }
  while (i < before.length) left.push(before[i++]);
  while (j < after.length) joined.push({ e: after[j], at: j++ });
  if (left.length && joined.length) {
    const old = new Map(left.map((e) => [keyOf(e), e]));
    joined = joined.filter(({ e, at }) => {
      const k = keyOf(e);
      const was = old.get(k);
      if (!was) return true;
      old.delete(k);
      compare(was, e, at);
      return false;
    });
    left = [...old.values()];
  }
  if (!joined.length && !reweighted.length && !left.length) return undefined;
  reweighted.sort((a, b) => a.at - b.at);
  return {
    upstream: slug,
    joined: joined.slice(0, limit).map((x) => entry(x.e)),
    joinedCount: joined.length,
    left: left.slice(0, limit).map(entry),
    leftCount: left.length,
    reweighted: reweighted.slice(0, limit).map((r) => r.change),
    reweightedCount: reweighted.length,
  };
}

/**
 * The upstreams whose endpoints or weights differ, in snapshot order. With no `previous`,
 * every endpoint joined. An upstream only in `previous` counts as all its endpoints left.
 *
 * @example
 * ```ts
 * import type { ProxySnapshot } from "../model/snapshot.ts";
 *
 * function joinedEndpoints(before: ProxySnapshot, after: ProxySnapshot): string[] {
 *   // e.g. [{ upstream: "s_default_80_r0", joined: [{ endpoint: "10.0.0.3:31000", pool: "primary" }], ... }]
 *   return diffSnapshots(before, after).flatMap((d) => d.joined.map((j) => j.endpoint));
 * }
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
    const d = diffUpstream(u.slug, was?.endpoints ?? [], u.endpoints, limit);
    if (d) out.push(d);
  }
  for (const [slug, was] of before) {
    const d = diffUpstream(slug, was.endpoints, [], limit);
    if (d) out.push(d);
  }
  return out;
}
