/**
 * haproxy.cfg for a snapshot and a slot layout (`slots.ts`): a pure function of plain
 * data. HTTP ports get a frontend each that picks the server by `Host` and the location
 * by path with nginx's precedence (see `routing.ts`); each route and each TCP server gets
 * a backend (`balance leastconn`) whose servers are the layout's slots.
 *
 * Whether a route has an endpoint is decided at request time (`nbsrv`), not by the file:
 * a route's first join and last leave are runtime changes like any other.
 *
 * @module
 */

import type { Context } from "../../model/config.ts";
import type { ProxySnapshot, ServerSnapshot, Upstream } from "../../model/snapshot.ts";
import { commentSafe } from "../nginx/render.ts";
import { ctx, haproxyTime } from "./context_map.ts";
import { httpFrontends } from "./routing.ts";
import { backendsOf, type Slot, type SlotLayout } from "./slots.ts";

/** Where the rendered config puts HAProxy's files. */
export interface HaproxyRenderOptions {
  /** `pidfile`: the master's pid. */
  readonly pidPath: string;
  /** The stats socket (runtime API, listeners passed on reload). */
  readonly statsSocket: string;
  /** Every backend's slots (`planSlots`). */
  readonly layout: SlotLayout;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A server line. Free slots point nowhere and are `disabled` (maintenance); the comment
 * says what a filled one holds, which is how the file is read back (`layout_file.ts`).
 */
export function serverLine(s: Slot): string {
  const backup = s.backup ? " backup" : "";
  const e = s.endpoint;
  if (!e) return `    server ${s.name} 0.0.0.0:0${backup} disabled # free`;
  const note = commentSafe(`host=${e.host} pool=${e.pool} src=${e.source} | ${e.audit}`);
  return `    server ${s.name} ${
    hostPort(e.address, e.port)
  }${backup} weight ${e.weight} # ${note}`;
}

function backendBlock(
  u: Upstream,
  slots: readonly Slot[],
  mode: "http" | "tcp",
  c: Context,
): string {
  const notes = u.notes.map((n) => `    # ${commentSafe(n)}\n`).join("");
  const skipped = u.skipped.map((e) =>
    `    # skipped ${
      commentSafe(`${hostPort(e.host, e.port)} (${e.pool}, src=${e.source}): ${e.reason}`)
    }\n`
  ).join("");
  const httpLines = mode === "http"
    ? `    timeout connect ${haproxyTime(ctx(c, "proxy_connect_timeout", 60))}
    timeout server ${haproxyTime(ctx(c, "proxy_read_timeout", 60))}
    option forwardfor
    http-request set-header X-Real-IP %[src]
    # As nginx: a request with a non-idempotent method, once sent, is not sent again.
    http-request disable-l7-retry if { method POST PATCH LOCK }
`
    : "";
  return `backend ${u.slug}
${notes}${skipped}    mode ${mode}
    balance leastconn
${retries(c, mode === "http" ? 3 : 0)}${httpLines}${slots.map(serverLine).join("\n")}
`;
}

/**
 * nginx's `proxy_next_upstream_tries` (tries in all, 0: as many as there are servers) as
 * HAProxy's `retries` (tries after the first), each retry on another server.
 */
function retries(c: Context, def: number): string {
  const raw = ctx(c, "proxy_next_upstream_tries", def);
  const tries = Number(raw);
  const n = !/^\d+$/.test(raw) ? raw : tries === 0 ? 3 : tries - 1;
  return `    retries ${n}\n`;
}

function tcpFrontend(s: ServerSnapshot, backend: string): string {
  const c = s.context;
  const timeout = haproxyTime(ctx(c, "proxy_timeout", "10m"));
  return `frontend ${s.slug}
    mode tcp
    option tcplog
${s.ports.map((p) => `    bind :${p}`).join("\n")}
    timeout client ${timeout}
    # No endpoint: the connection is refused at once rather than left hanging.
    tcp-request connection reject if { nbsrv(${backend}) eq 0 } !{ stopping }
    default_backend ${backend}
`;
}

function tcpBackendTimeouts(s: ServerSnapshot): string {
  const c = s.context;
  return `    timeout connect ${haproxyTime(ctx(c, "proxy_connect_timeout", "60s"))}
    timeout server ${haproxyTime(ctx(c, "proxy_timeout", "10m"))}
`;
}

/** `worker_processes` as threads: `auto` (the default) is HAProxy's own default. */
function threads(c: Context): string {
  const v = ctx(c, "worker_processes", "auto");
  return v === "auto" ? "" : `    nbthread ${v}\n`;
}

const isOff = (v: unknown) => v === false || v === "off";

function globalBlock(c: Context, o: HaproxyRenderOptions): string {
  const user = c.user ? `    user ${ctx(c, "user", "")}\n` : "";
  const log = isOff(c.access_log) ? "" : "    log stdout format raw local0 info\n";
  const maxconn = c.worker_connections === undefined
    ? ""
    : `    maxconn ${ctx(c, "worker_connections", "")}\n`;
  return `global
    master-worker
    pidfile ${o.pidPath}
    # The runtime API, and the listening sockets handed to a new worker on reload.
    stats socket ${o.statsSocket} mode 600 level admin expose-fd listeners
    stats timeout 30s
    # Old workers finish in-flight requests for at most this long after a reload.
    hard-stop-after ${haproxyTime(ctx(c, "worker_shutdown_timeout", "30s"))}
${user}${maxconn}${threads(c)}${log}`;
}

function defaultsBlock(c: Context): string {
  const log = isOff(c.access_log) ? "" : "    log global\n";
  return `defaults
    mode http
${log}    timeout connect 60s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive ${haproxyTime(ctx(c, "keepalive_timeout", 65))}
    timeout http-request ${haproxyTime(ctx(c, "client_body_timeout", 10))}
    # An instance that has just gone away must not cost a request: a request whose
    # backend refuses, resets or does not answer in time is tried again on another
    # server, on at most proxy_next_upstream_tries (3) in all (see each backend).
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
`;
}

/**
 * Renders haproxy.cfg.
 *
 * @example
 * ```ts
 * import type { ProxySnapshot } from "../../model/snapshot.ts";
 * const snapshot: ProxySnapshot = { context: {}, servers: [], builtAt: 0, adjustmentDelayed: false };
 * const text = renderHaproxy(snapshot, {
 *   pidPath: "/run/haproxy.pid",
 *   statsSocket: "/run/haproxy.sock",
 *   layout: new Map(),
 * });
 * text.includes("master-worker"); // true
 * ```
 */
export function renderHaproxy(snap: ProxySnapshot, o: HaproxyRenderOptions): string {
  const c = snap.context;
  const http = snap.servers.filter((s) => s.routes.length > 0);
  const tcp = snap.servers.filter((s) => s.streams.length > 0);
  const slotsOf = (slug: string) => o.layout.get(slug) ?? [];
  const routes = http.flatMap((s) =>
    s.routes.map((r) => backendBlock(r, slotsOf(r.slug), "http", s.context))
  );
  const streams = tcp.map((s) => {
    const merged = backendsOf({ ...snap, servers: [s] }).at(-1)!;
    return `${tcpFrontend(s, merged.slug)}
${backendBlock(merged, slotsOf(merged.slug), "tcp", s.context)}${tcpBackendTimeouts(s)}`;
  });
  return `# Generated by aurproxy. Do not edit: it is rewritten on every endpoint change,
# and always holds what HAProxy runs (runtime API changes included).
${globalBlock(c, o)}
${defaultsBlock(c)}
${httpFrontends(http, c).join("\n")}
${routes.join("\n")}
${streams.join("\n")}`;
}
