/**
 * Server slots: every HAProxy backend aurproxy renders holds a fixed list of named servers
 * (`p1`, `p2`, … for load-balanced ones, `b1`, … for `backup` ones), some filled with an
 * endpoint, the rest free (`disabled`). A join fills a free slot and a leave frees one
 * through the runtime API (`set server … addr … port …`, `state ready|maint`), so
 * membership changes need no reload while the slots last; a weight change never renames a
 * server. The layout is planned from the previous one, so an endpoint keeps its slot for
 * as long as it stays, and is written into the config file, so a reload or a restart of
 * HAProxy comes back to exactly the running state.
 *
 * A backend runs out of slots only when more endpoints arrive than it has free: it then
 * gets `max(minFree, half its members)` free slots again, which is a structural change
 * (a reload).
 *
 * @module
 */

import { MAX_WEIGHT } from "../../balance/weights.ts";
import type { ProxySnapshot, Upstream, WeightedEndpoint } from "../../model/snapshot.ts";

/** HAProxy's largest server weight. */
export const HAPROXY_MAX_WEIGHT = 256;

/** The endpoint a slot holds. */
export interface SlotEndpoint {
  readonly address: string;
  readonly port: number;
  /** HAProxy's weight (0..256); 1 for a backup slot. */
  readonly weight: number;
  readonly host: string;
  readonly pool: "primary" | "overflow";
  readonly source: string;
  readonly audit: string;
}

/** One server line: its name, whether it is a `backup`, and what it holds (none: free). */
export interface Slot {
  readonly name: string;
  readonly backup: boolean;
  readonly endpoint?: SlotEndpoint;
}

/** The slots of every backend, by backend (upstream slug). */
export type SlotLayout = ReadonlyMap<string, readonly Slot[]>;

/**
 * aurproxy's weight (integers up to `MAX_WEIGHT`) on HAProxy's 0..256 scale; a positive
 * weight stays positive.
 *
 * @example
 * ```ts
 * haproxyWeight(1000); // 256
 * haproxyWeight(1); // 1
 * haproxyWeight(0); // 0
 * ```
 */
export function haproxyWeight(weight: number): number {
  if (weight <= 0) return 0;
  return Math.min(
    HAPROXY_MAX_WEIGHT,
    Math.max(1, Math.round(weight * HAPROXY_MAX_WEIGHT / MAX_WEIGHT)),
  );
}

/** Whether an endpoint is a standby overflow one: nginx's `backup` server. */
export const isStandby = (e: WeightedEndpoint): boolean =>
  e.weight === 0 && e.pool === "overflow" && e.share > 0;

/** Identity of an endpoint within one role of one backend. */
const keyOf = (e: { address: string; port: number }) => `${e.address}:${e.port}`;

function slotEndpoint(e: WeightedEndpoint, backup: boolean): SlotEndpoint {
  return {
    address: e.address,
    port: e.port,
    weight: backup ? 1 : haproxyWeight(e.weight),
    host: e.host,
    pool: e.pool,
    source: e.source,
    audit: e.audit.join(" | "),
  };
}

/** The upstreams of a snapshot that become HAProxy backends (streams of a server merged). */
export function backendsOf(snap: ProxySnapshot): Upstream[] {
  const out: Upstream[] = [];
  for (const s of snap.servers) {
    for (const r of s.routes) out.push(r);
    if (s.streams.length) {
      out.push({
        slug: s.streams[0].slug,
        endpoints: s.streams.flatMap((st) => st.endpoints),
        skipped: s.streams.flatMap((st) => st.skipped),
        failOpen: s.streams.some((st) => st.failOpen),
        notes: s.streams.flatMap((st) => st.notes),
      });
    }
  }
  return out;
}

/** The slots of one role (load-balanced or backup), keeping the previous assignment. */
function planRole(
  wanted: readonly SlotEndpoint[],
  previous: readonly Slot[],
  prefix: string,
  minFree: number,
  backup: boolean,
): Slot[] {
  const byKey = new Map<string, SlotEndpoint[]>();
  for (const e of wanted) {
    const list = byKey.get(keyOf(e)) ?? [];
    list.push(e);
    byKey.set(keyOf(e), list);
  }
  const slots: (SlotEndpoint | undefined)[] = previous.map((s) => {
    const list = s.endpoint ? byKey.get(keyOf(s.endpoint)) : undefined;
    return list?.shift();
  });
  const rest = wanted.filter((e) => byKey.get(keyOf(e))?.includes(e));
  const free = slots.filter((s) => s === undefined).length;
  let size = slots.length;
  if (rest.length > free || previous.length === 0) {
    // Out of slots (or none yet): room for the members and as many again as half of
    // them, at least minFree.
    const members = wanted.length;
    size = Math.max(size, members + Math.max(minFree, Math.ceil(members / 2)));
  }
  while (slots.length < size) slots.push(undefined);
  let next = 0;
  for (const e of rest) {
    while (slots[next] !== undefined) next++;
    slots[next] = e;
  }
  return slots.map((endpoint, i) => ({ name: `${prefix}${i + 1}`, backup, endpoint }));
}

/**
 * The slot layout for `snap`, starting from `previous` (the layout HAProxy runs, or
 * undefined): an endpoint that stays keeps its slot; a new one takes the first free slot
 * of its role; a backend out of free slots of a role grows (a structural change).
 * Backup slots exist only in backends that have overflow endpoints.
 *
 * @example
 * ```ts
 * import type { ProxySnapshot } from "../../model/snapshot.ts";
 * const snap: ProxySnapshot = { context: {}, servers: [], builtAt: 0, adjustmentDelayed: false };
 * planSlots(snap, undefined, 8).size; // 0
 * ```
 */
export function planSlots(
  snap: ProxySnapshot,
  previous: SlotLayout | undefined,
  minFree: number,
): SlotLayout {
  const out = new Map<string, Slot[]>();
  for (const u of backendsOf(snap)) {
    const before = previous?.get(u.slug) ?? [];
    const active = u.endpoints.filter((e) => !isStandby(e)).map((e) => slotEndpoint(e, false));
    const standby = u.endpoints.filter(isStandby).map((e) => slotEndpoint(e, true));
    const hasOverflow = u.endpoints.some((e) => e.pool === "overflow") ||
      before.some((s) => s.backup);
    const p = planRole(active, before.filter((s) => !s.backup), "p", minFree, false);
    const b = hasOverflow
      ? planRole(
        standby,
        before.filter((s) => s.backup),
        "b",
        Math.max(2, Math.ceil(minFree / 2)),
        true,
      )
      : [];
    out.set(u.slug, [...p, ...b]);
  }
  return out;
}
