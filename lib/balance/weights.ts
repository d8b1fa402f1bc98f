/**
 * From shares to weights: the traffic split between a route's primary pool and its
 * overflow pool, and the integer nginx weight of every endpoint. Pure.
 *
 * Rules (see README "How traffic is weighted"):
 * - An endpoint's share is the product of its adjusters' factors (1 with none).
 * - h = mean share of the primary endpoints: the fraction of primary capacity available.
 * - With `overflowThresholdPct` t: if h ≥ t the overflow pool gets nothing; otherwise the
 *   primaries carry h/t of the traffic and the overflow pool the rest. Without a
 *   threshold, overflow takes traffic only when the primaries have no capacity at all.
 * - Within a pool, traffic is split in proportion to shares.
 * - Fail open: when neither pool has capacity, every primary endpoint gets an equal
 *   weight (every overflow endpoint when there are no primaries): an upstream with no
 *   live server would fail every request, which is worse than trying all of them.
 * - While adjustments are delayed (`--weight-adjustment-delay-seconds`), primaries get
 *   equal weight and overflow none (all of it when there are no primaries).
 *
 * @module
 */

import type { Pool, WeightedEndpoint } from "../model/snapshot.ts";
import type { ShareFactor } from "../model/share.ts";
import type { PoolMember } from "../model/pool_member.ts";

/** An endpoint with its adjusters' current factors. */

export interface WeightInput {
  readonly primary: readonly PoolMember[];
  readonly overflow: readonly PoolMember[];
  /** 0..100, or undefined. */
  readonly overflowThresholdPct?: number;
  /** False while `--weight-adjustment-delay-seconds` holds adjusters back. */
  readonly adjust: boolean;
}

export interface WeightResult {
  readonly endpoints: readonly WeightedEndpoint[];
  readonly failOpen: boolean;
  readonly notes: readonly string[];
}

/** The largest weight rendered; other weights are scaled relative to the largest fraction. */
export const MAX_WEIGHT = 1000;

/** Product of the factors, clamped to 0..1 (a misbehaving adjuster cannot exceed 1). */
export function shareOf(factors: readonly ShareFactor[]): number {
  let s = 1;
  for (const f of factors) s *= Number.isFinite(f.share) ? f.share : 0;
  return Math.min(1, Math.max(0, s));
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

/** Share of traffic the primary pool carries, given its mean share h. */
export function primaryPortion(
  h: number,
  overflowThresholdPct: number | undefined,
  hasOverflowCapacity: boolean,
): number {
  if (!hasOverflowCapacity) return 1;
  // Every primary down: overflow takes everything, whatever the threshold (even 0).
  if (h <= 0) return 0;
  if (overflowThresholdPct === undefined) return 1;
  const t = overflowThresholdPct / 100;
  if (h >= t) return 1;
  return h / t;
}

const fmt = (x: number) => String(Math.round(x * 10000) / 10000);

/** How one pool's traffic is split: in proportion to `basis`, `portion` of the route in all. */
interface Split {
  readonly basis: readonly number[];
  readonly portion: number;
  /** Why the basis is what it is, for the audit ("share", "equal: fail open", ...). */
  readonly rule: string;
}

/**
 * Computes weighted endpoints for one route or stream.
 *
 * @example
 * ```ts
 * import type { PoolMember } from "../model/pool_member.ts";
 *
 * const member = (host: string): PoolMember => ({
 *   endpoint: { host, port: 8080, ports: {} },
 *   source: "static",
 *   factors: [],
 * });
 * const r = computeWeights({ primary: [member("10.0.0.1"), member("10.0.0.2")], overflow: [], adjust: true });
 * console.log(r.endpoints.map((e) => e.weight)); // two equal weights
 * ```
 */
export function computeWeights(input: WeightInput): WeightResult {
  const { primary, overflow } = input;
  const pShares = primary.map((m) => (input.adjust ? shareOf(m.factors) : 1));
  const oShares = overflow.map((m) => (input.adjust ? shareOf(m.factors) : 0));
  const equal = (n: number) => Array.from({ length: n }, () => 1);
  const notes: string[] = [];
  let failOpen = false;
  let p: Split;
  let o: Split;

  const pSum = sum(pShares);
  const oSum = sum(oShares);
  if (!input.adjust) {
    notes.push("weight adjustment delayed: primaries equal, overflow off");
    const rule = "equal: adjustment delayed";
    p = { basis: equal(primary.length), portion: primary.length ? 1 : 0, rule };
    o = { basis: equal(overflow.length), portion: primary.length ? 0 : 1, rule };
  } else if (pSum === 0 && oSum === 0) {
    const pool = primary.length ? "primary" : "overflow";
    if (primary.length || overflow.length) {
      failOpen = true;
      notes.push(`fail open: no endpoint has capacity, ${pool} endpoints weighted equally`);
    }
    const rule = "equal: fail open";
    p = { basis: equal(primary.length), portion: primary.length ? 1 : 0, rule };
    o = { basis: equal(overflow.length), portion: primary.length ? 0 : 1, rule };
  } else {
    const h = primary.length ? pSum / primary.length : 0;
    const portion = primaryPortion(h, input.overflowThresholdPct, oSum > 0);
    if (overflow.length) {
      const t = input.overflowThresholdPct;
      notes.push(
        `primary capacity h=${fmt(h)}` + (t === undefined ? "" : ` threshold=${t}%`) +
          ` -> primary ${fmt(portion)}, overflow ${fmt(1 - portion)}`,
      );
    }
    p = { basis: pShares, portion, rule: "share" };
    o = { basis: oShares, portion: 1 - portion, rule: "share" };
  }

  const fractionsOf = (split: Split) => {
    const total = sum(split.basis);
    return split.basis.map((b) => (total > 0 ? (b / total) * split.portion : 0));
  };
  const pFractions = fractionsOf(p);
  const oFractions = fractionsOf(o);
  const maxFraction = Math.max(0, ...pFractions, ...oFractions);
  const toWeight = (f: number) =>
    f <= 0 || maxFraction <= 0 ? 0 : Math.max(1, Math.round((f / maxFraction) * MAX_WEIGHT));

  const build = (
    members: readonly PoolMember[],
    shares: readonly number[],
    split: Split,
    fractions: readonly number[],
    pool: Pool,
  ): WeightedEndpoint[] => {
    const total = sum(split.basis);
    return members.map((m, i) => {
      const weight = toWeight(fractions[i]);
      const address = m.address ?? m.endpoint.host;
      const audit: string[] = [pool, `src=${m.source}`];
      if (address !== m.endpoint.host) audit.push(`host=${m.endpoint.host}`);
      audit.push("base=1");
      for (const f of m.factors) audit.push(`${f.name}=${fmt(f.share)} (${f.detail})`);
      audit.push(
        input.adjust ? `share=${fmt(shares[i])}` : "adjustment delayed",
        `${split.rule} ${fmt(split.basis[i])}/${fmt(total)} of ${pool} portion ${
          fmt(split.portion)
        }`,
        `fraction=${fmt(fractions[i])}`,
        `weight=${weight}` +
          (weight > 0 ? ` (max fraction ${fmt(maxFraction)} = ${MAX_WEIGHT})` : ""),
      );
      return {
        host: m.endpoint.host,
        address,
        port: m.endpoint.port,
        weight,
        fraction: fractions[i],
        share: shares[i],
        pool,
        source: m.source,
        factors: m.factors.map((f) => ({ ...f })),
        audit,
      };
    });
  };

  return {
    endpoints: [
      ...build(primary, pShares, p, pFractions, "primary"),
      ...build(overflow, oShares, o, oFractions, "overflow"),
    ],
    failOpen,
    notes,
  };
}
