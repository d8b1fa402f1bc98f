/**
 * What the runtime API must be told to take HAProxy from one slot layout to another of
 * the same structure, and whether HAProxy's own account (`show servers state`) matches a
 * layout afterwards. Pure.
 *
 * @module
 */

import type { Slot, SlotLayout } from "./slots.ts";

/** The commands (`set server …`) that turn `from` into `to`, slot by slot. */
export function runtimeCommands(from: SlotLayout, to: SlotLayout): string[] {
  const out: string[] = [];
  for (const [backend, slots] of to) {
    const before = new Map((from.get(backend) ?? []).map((s) => [s.name, s]));
    for (const s of slots) {
      out.push(...slotCommands(`${backend}/${s.name}`, before.get(s.name), s));
    }
  }
  return out;
}

function slotCommands(id: string, a: Slot | undefined, b: Slot): string[] {
  const was = a?.endpoint;
  const now = b.endpoint;
  if (!now) return was || !a ? [`set server ${id} state maint`] : [];
  const out: string[] = [];
  if (!was || was.address !== now.address || was.port !== now.port) {
    out.push(`set server ${id} addr ${now.address} port ${now.port}`);
  }
  if (!was || was.weight !== now.weight) out.push(`set server ${id} weight ${now.weight}`);
  if (!was) out.push(`set server ${id} state ready`);
  return out;
}

/** One server as `show servers state` reports it. */
export interface ServerState {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** In maintenance (forced, inherited or from the config's `disabled`, until `ready`). */
  readonly maint: boolean;
}

/**
 * Parses `show servers state` (format 1) into `backend/server` → state.
 *
 * @example
 * ```ts
 * const text = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight\n" +
 *   "3 b1 1 s1 127.0.0.1 2 0 10 10 5 1 0 2 0 0 0 0 - 18081 - 0 0 - - 0\n";
 * parseServersState(text).get("b1/s1")?.port; // 18081
 * ```
 */
export function parseServersState(text: string): Map<string, ServerState> {
  const out = new Map<string, ServerState>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#") || line === "1") continue;
    const f = line.split(" ");
    if (f.length < 19) continue;
    // srv_admin_state bits: 0x01 forced, 0x02 inherited, 0x20 resolution maintenance;
    // 0x04 (configured `disabled`) stays set after `state ready` and is not maintenance.
    const admin = Number(f[6]);
    out.set(`${f[1]}/${f[3]}`, {
      address: f[4],
      port: Number(f[18]),
      weight: Number(f[7]),
      maint: (admin & 0x23) !== 0,
    });
  }
  return out;
}

/**
 * How HAProxy's state differs from `layout` (empty when it matches): a free slot must be
 * in maintenance; a filled one must be up, at its address, with its weight.
 */
export function stateDifferences(
  layout: SlotLayout,
  state: ReadonlyMap<string, ServerState>,
  backends?: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (const [backend, slots] of layout) {
    if (backends && !backends.has(backend)) continue;
    for (const s of slots) {
      const id = `${backend}/${s.name}`;
      const seen = state.get(id);
      const e = s.endpoint;
      if (!seen) out.push(`${id} is missing`);
      else if (!e && !seen.maint) out.push(`${id} should be in maintenance`);
      else if (e && seen.maint) out.push(`${id} is in maintenance`);
      else if (e && (seen.address !== e.address || seen.port !== e.port)) {
        out.push(`${id} is at ${seen.address}:${seen.port}, not ${e.address}:${e.port}`);
      } else if (e && !s.backup && seen.weight !== e.weight) {
        out.push(`${id} has weight ${seen.weight}, not ${e.weight}`);
      }
    }
  }
  return out;
}
