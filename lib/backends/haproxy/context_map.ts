/**
 * The `context` keys the HAProxy backend understands, and the nginx-only ones it refuses.
 * Every key the nginx backend renders has a line here: mapped to HAProxy's equivalent, or
 * refused with why (a config that sets one would silently mean something else).
 * Other keys are free-form, ignored by both backends.
 *
 * @module
 */

import type { Context } from "../../model/config.ts";

/** nginx context keys with no HAProxy equivalent, and what to do instead. */
export const NGINX_ONLY_KEYS: Readonly<Record<string, string>> = Object.freeze({
  proxy_buffer_size: "HAProxy sizes its buffers globally (tune.bufsize), not per proxy",
  proxy_buffers: "HAProxy sizes its buffers globally (tune.bufsize), not per proxy",
  large_client_header_buffers: "HAProxy sizes its buffers globally (tune.bufsize)",
  gzip: "the HAProxy backend does not compress responses",
  upstream_keepalive: "HAProxy keeps idle server connections by itself (http-reuse safe)",
  worker_rlimit_nofile: "HAProxy derives its descriptor limit from maxconn (worker_connections)",
  multi_accept: "an nginx event-loop setting",
  accept_mutex: "an nginx event-loop setting",
  reuseport: "HAProxy binds with SO_REUSEPORT already",
  error_log: "HAProxy's own messages go to its stderr",
  error_log_level: "HAProxy's own messages go to its stderr",
  daemon: "HAProxy runs in the foreground in master-worker mode",
  max_fails: "HAProxy does no passive marking here: aurproxy's health checks decide",
  fail_timeout: "HAProxy does no passive marking here: aurproxy's health checks decide",
  proxy_next_upstream: "nginx syntax; the HAProxy backend retries on connection failures, " +
    "empty responses and response timeouts (set proxy_next_upstream_tries)",
  keepalive_requests: "HAProxy does not limit requests per client connection",
  proxy_send_timeout: "HAProxy has one server-side inactivity timeout: set proxy_read_timeout",
});

/** Context keys the HAProxy backend maps, and to what (for the docs and tests). */
export const MAPPED_KEYS: Readonly<Record<string, string>> = Object.freeze({
  proxy_connect_timeout: "timeout connect",
  proxy_read_timeout: "timeout server",
  send_timeout: "timeout client",
  keepalive_timeout: "timeout http-keep-alive",
  client_body_timeout: "timeout http-request",
  proxy_timeout: "timeout client and timeout server of a TCP stream",
  proxy_next_upstream_tries: "retries (tries - 1)",
  worker_connections: "maxconn",
  worker_processes: "nbthread (auto: HAProxy's default, one per CPU)",
  worker_shutdown_timeout: "hard-stop-after",
  user: "user",
  client_max_body_size: "a 413 for a larger Content-Length",
  access_log: "option httplog to stdout (on) or none (off)",
});

/** A context value as text, or the default when unset. */
export function ctx(c: Context, key: string, def: string | number): string {
  const v = c[key];
  return v === undefined || v === null || v === "" ? String(def) : String(v);
}

/**
 * An nginx time (`60`, `60s`, `10m`, `500ms`) as HAProxy's: a bare number is seconds in
 * nginx but milliseconds in HAProxy, so it gets its unit. Anything else is passed as
 * written, for `haproxy -c` to judge.
 *
 * @example
 * ```ts
 * haproxyTime("60"); // "60s"
 * haproxyTime("10m"); // "10m"
 * ```
 */
export function haproxyTime(v: string): string {
  return /^\d+$/.test(v) ? `${v}s` : v;
}

/**
 * An nginx size (`1m`, `512k`, `1024`) in bytes; `0` is "no limit"; undefined when it is
 * not one.
 *
 * @example
 * ```ts
 * sizeInBytes("1m"); // 1048576
 * ```
 */
export function sizeInBytes(v: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) return undefined;
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()]!;
  return Number(m[1]) * unit;
}

/** The `client_max_body_size` check (default 1m as nginx's render; 0: no limit). */
export function bodyLimit(c: Context): string {
  const raw = ctx(c, "client_max_body_size", "1m");
  const bytes = sizeInBytes(raw);
  if (bytes === 0) return "";
  return `    http-request deny deny_status 413 if { req.hdr_val(content-length) gt ${
    bytes ?? raw
  } }\n`;
}

/** Margin after `hard-stop-after` before a stopping HAProxy's group is killed. */
const STOP_MARGIN_MS = 2_000;

/**
 * How long a stopping HAProxy running `configText` gets between SIGUSR1 and SIGKILL: its
 * `hard-stop-after` plus a margin (32 s by default).
 *
 * @example
 * ```ts
 * stopDeadlineMs("global\n    hard-stop-after 10s\n"); // 12000
 * ```
 */
export function stopDeadlineMs(configText: string): number {
  const m = /^\s*hard-stop-after\s+(\d+)(ms|s|m|h)?\s*$/m.exec(configText);
  if (!m) return 30_000 + STOP_MARGIN_MS;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "ms"]!;
  return Number(m[1]) * unit + STOP_MARGIN_MS;
}
