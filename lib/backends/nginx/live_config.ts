/**
 * Reading back what the live nginx config sends traffic to: the `server` lines of its
 * `upstream` blocks, in the format `render.ts` writes them (`server 10.0.0.1:80 weight=3
 * ...; # primary | src=<source> | host=<name> | ...`). At start-up, before any registry
 * is read, this is the one thing known for sure about each upstream: what nginx serves.
 *
 * Only what the file says is taken, and only as data: an address that is not a valid host
 * or a port out of range is skipped, so a hand-edited file cannot inject anything that a
 * registry member could not.
 *
 * @module
 */

import { isValidHost, isValidPort } from "../../model/endpoint.ts";
import type { LiveServer, LiveUpstreams } from "../backend.ts";

const UPSTREAM = /^\s*upstream\s+([A-Za-z0-9_]+)\s*\{\s*$/;
const BLOCK_END = /^\s*\}\s*$/;
/** `server <addr>:<port> <params>; # <audit>`; a commented-out (weight 0) line never matches. */
const SERVER = /^\s*server\s+(\[[0-9A-Fa-f:.]+\]|[^\s\[\]:;#]+):(\d+)([^;#]*);\s*(?:#\s*(.*))?$/;

/** What the audit comment says about a server line (`primary | src=... | host=...`). */
function auditOf(comment: string | undefined): Pick<LiveServer, "pool" | "source"> & {
  host?: string;
} {
  const fields = (comment ?? "").split(" | ").map((f) => f.trim());
  const value = (key: string) => fields.find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
  return {
    pool: fields[0] === "overflow" ? "overflow" : "primary",
    source: value("src") || undefined,
    host: value("host") || undefined,
  };
}

function serverLine(line: string): LiveServer | undefined {
  const m = SERVER.exec(line);
  if (!m) return undefined;
  const address = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  const port = Number(m[2]);
  if (!isValidHost(address) || !isValidPort(port)) return undefined;
  const params = m[3].trim().split(/\s+/).filter(Boolean);
  if (params.includes("down")) return undefined;
  const w = params.find((p) => p.startsWith("weight="));
  const weight = params.includes("backup") ? 0 : w ? Number(w.slice("weight=".length)) : 1;
  if (!Number.isInteger(weight) || weight < 0) return undefined;
  const { pool, source, host } = auditOf(m[4]);
  return {
    host: host && isValidHost(host) ? host : address,
    address,
    port,
    weight,
    pool,
    ...(source ? { source } : {}),
  };
}

/**
 * The servers of every upstream block of an nginx config aurproxy rendered.
 *
 * @example
 * ```ts
 * const text = `http {
 *     upstream web {
 *         least_conn;
 *         server 10.0.0.1:80 weight=2 max_fails=0 fail_timeout=10s; # primary | src=static.a | base=1
 *         # server 10.0.0.2:80 (weight 0) # primary | src=static.b | base=1
 *     }
 * }`;
 * parseLiveUpstreams(text).get("web");
 * // [{ host: "10.0.0.1", address: "10.0.0.1", port: 80, weight: 2, pool: "primary", source: "static.a" }]
 * ```
 */
export function parseLiveUpstreams(text: string): Map<string, LiveServer[]> {
  const out = new Map<string, LiveServer[]>();
  let current: LiveServer[] | undefined;
  for (const line of text.split("\n")) {
    const up = UPSTREAM.exec(line);
    if (up) {
      current = [];
      out.set(up[1], current);
      continue;
    }
    if (!current) continue;
    if (BLOCK_END.test(line)) {
      current = undefined;
      continue;
    }
    const s = serverLine(line);
    if (s) current.push(s);
  }
  return out;
}

/**
 * The live upstreams of `file`; undefined when it does not exist. Other read errors
 * reject (the caller says why it starts without them).
 */
export async function readLiveUpstreams(file: string): Promise<LiveUpstreams | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  return { from: "the live nginx config", file, upstreams: parseLiveUpstreams(text) };
}
