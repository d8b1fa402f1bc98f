/**
 * Reading a rendered haproxy.cfg back: its slot layout (so aurproxy, restarted, keeps
 * every endpoint in its slot), the servers that take traffic (`liveEndpoints`), and its
 * structure: the text with what the runtime API can change (server addresses, weights,
 * states) and comments taken out. Two configs of equal structure differ only in what the
 * runtime API applies.
 *
 * @module
 */

import type { LiveServer } from "../backend.ts";
import type { Slot, SlotEndpoint, SlotLayout } from "./slots.ts";

const SECTION = /^(backend|frontend|global|defaults|listen)\s+(\S*)/;
const SERVER =
  /^\s+server\s+(\S+)\s+(\S+)(\s+backup)?(?:\s+weight\s+(\d+)|\s+disabled)?\s*(?:#\s*(.*))?$/;

/** `10.0.0.1:80` or `[::1]:80`. */
function splitHostPort(s: string): { address: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(s) ?? /^(.*):(\d+)$/.exec(s);
  return m ? { address: m[1], port: Number(m[2]) } : { address: s, port: 0 };
}

function endpointOf(at: string, weight: number, note: string): SlotEndpoint {
  const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S*)`).exec(note)?.[1] ?? "";
  const { address, port } = splitHostPort(at);
  const audit = note.includes(" | ") ? note.slice(note.indexOf(" | ") + 3) : "";
  return {
    address,
    port,
    weight,
    host: field("host") || address,
    pool: field("pool") === "overflow" ? "overflow" : "primary",
    source: field("src"),
    audit,
  };
}

/**
 * The slot layout of a config aurproxy rendered.
 *
 * @example
 * ```ts
 * const text = "backend r\n    server p1 10.0.0.1:80 weight 9 # host=web pool=primary src=zk | w\n" +
 *   "    server p2 0.0.0.0:0 disabled # free\n";
 * readLayout(text).get("r")?.length; // 2
 * ```
 */
export function readLayout(text: string): SlotLayout {
  const out = new Map<string, Slot[]>();
  let backend: Slot[] | undefined;
  for (const line of text.split("\n")) {
    const sec = SECTION.exec(line);
    if (sec) {
      backend = sec[1] === "backend" ? [] : undefined;
      if (backend) out.set(sec[2], backend);
      continue;
    }
    const m = backend && SERVER.exec(line);
    if (!m || !backend) continue;
    const free = (m[5] ?? "").trim() === "free";
    backend.push({
      name: m[1],
      backup: m[3] !== undefined,
      endpoint: free ? undefined : endpointOf(m[2], Number(m[4] ?? 1), m[5] ?? ""),
    });
  }
  return out;
}

/**
 * What the runtime API cannot change: server lines reduced to their names and roles,
 * comments dropped.
 *
 * @example
 * ```ts
 * structureOf("    server p1 10.0.0.1:80 weight 9 # x") === structureOf("    server p1 0.0.0.0:0 disabled # free"); // true
 * ```
 */
export function structureOf(text: string): string {
  return text.split("\n").filter((l) => !/^\s*#/.test(l)).map((l) => {
    const m = SERVER.exec(l);
    return m ? `server ${m[1]}${m[3] ?? ""}` : l;
  }).join("\n");
}

/** The servers of a layout that take traffic, by backend (see `LiveUpstreams`). */
export function liveServers(layout: SlotLayout): Map<string, LiveServer[]> {
  const out = new Map<string, LiveServer[]>();
  for (const [slug, slots] of layout) {
    const servers = slots.flatMap((s) => {
      const e = s.endpoint;
      if (!e || (!s.backup && e.weight === 0)) return [];
      return [{
        host: e.host,
        address: e.address,
        port: e.port,
        weight: s.backup ? 0 : e.weight,
        pool: e.pool,
        source: e.source || undefined,
      }];
    });
    if (servers.length) out.set(slug, servers);
  }
  return out;
}
