/**
 * What the runtime API must be told to take HAProxy from one slot layout to another of
 * the same structure, and whether HAProxy's own account (`show servers state`, parsed by
 * `server_state.ts`) matches a layout afterwards. Pure.
 *
 * @module
 */

import type { ServerStateRecord } from "./server_state.ts";
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

/**
 * How HAProxy's state differs from `layout` (empty when it matches): a free slot must be
 * in maintenance; a filled one must be up, at its address, with its weight.
 */
export function stateDifferences(
  layout: SlotLayout,
  records: readonly ServerStateRecord[],
  backends?: ReadonlySet<string>,
): string[] {
  const state = new Map(records.map((r) => [`${r.backend}/${r.server}`, r]));
  const out: string[] = [];
  for (const [backend, slots] of layout) {
    if (backends && !backends.has(backend)) continue;
    for (const s of slots) {
      const id = `${backend}/${s.name}`;
      const seen = state.get(id);
      const e = s.endpoint;
      if (!seen) out.push(`${id} is missing`);
      else if (!e && seen.adminState !== "maint") out.push(`${id} should be in maintenance`);
      else if (e && seen.adminState !== "ready") out.push(`${id} is in ${seen.adminState}`);
      else if (e && (seen.address !== e.address || seen.port !== e.port)) {
        out.push(`${id} is at ${seen.address}:${seen.port}, not ${e.address}:${e.port}`);
      } else if (e && !s.backup && seen.weight !== e.weight) {
        out.push(`${id} has weight ${seen.weight}, not ${e.weight}`);
      }
    }
  }
  return out;
}
