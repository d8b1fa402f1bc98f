/**
 * HAProxy's options: top-level keys beside `"backend": "haproxy"`. Files default to the
 * config file's directory. The config's `context` keys are checked here too: nginx-only
 * ones (`context_map.ts`) and route mirrors are refused, naming the key.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { checkFilePath } from "../../config/checks.ts";
import { join as joinPath } from "../../config/walker.ts";
import type { Fields } from "../../config/walker.ts";
import type { ServerConfig } from "../../model/config.ts";
import { NGINX_ONLY_KEYS } from "./context_map.ts";

/** What the HAProxy backend needs to know beyond the snapshot. */
export interface HaproxyOptions {
  /** `configuration_file`, default `/etc/aurproxy/haproxy/haproxy.cfg`. */
  readonly configurationFile: string;
  /** `haproxy_binary`, default `haproxy` (looked up in PATH, then /usr/sbin/haproxy). */
  readonly binary: string;
  /** `haproxy_pid_path`: the master's pid (`pidfile`), default `haproxy.pid` beside the config. */
  readonly pidPath: string;
  /** `haproxy_master_socket`: the master CLI (`-S`), default `haproxy-master.sock` beside it. */
  readonly masterSocket: string;
  /** `haproxy_stats_socket`: the runtime API, default `haproxy-stats.sock` beside it. */
  readonly statsSocket: string;
  /** `haproxy_free_slots`: free server slots a backend gets when it is (re)sized, default 8. */
  readonly freeSlots: number;
}

/**
 * Mapped keys HAProxy reads with `atoi` (so `"lots"` would silently be 0): checked here.
 * `worker_processes` may also be `auto`.
 */
const INTEGER_KEYS = ["worker_connections", "proxy_next_upstream_tries", "worker_processes"];

/** Refuses nginx-only keys of one `context` object, and non-integers HAProxy would misread. */
function checkContext(f: Fields, raw: unknown, path: string): void {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return;
  for (const [k, v] of Object.entries(raw)) {
    const why = NGINX_ONLY_KEYS[k];
    const at = joinPath(path, k);
    if (why) f.walker.fail(at, `nginx-only, not supported by the haproxy backend: ${why}`);
    const auto = k === "worker_processes" && v === "auto";
    if (INTEGER_KEYS.includes(k) && !auto && !/^\d+$/.test(String(v))) {
      f.walker.fail(
        at,
        `expected a whole number for the haproxy backend, got ${JSON.stringify(v)}`,
      );
    }
  }
}

/**
 * Reads HAProxy's keys from the top level of the config.
 *
 * @example
 * ```ts
 * import { Walker } from "../../config/walker.ts";
 * const top = new Walker().fields({ configuration_file: "/srv/haproxy.cfg" }, "")!;
 * parseHaproxyOptions(top, []).statsSocket; // "/srv/haproxy-stats.sock"
 * ```
 */
export function parseHaproxyOptions(f: Fields, servers: readonly ServerConfig[]): HaproxyOptions {
  const configurationFile = f.stringOr(
    "configuration_file",
    "/etc/aurproxy/haproxy/haproxy.cfg",
    checkFilePath,
  );
  const beside = (name: string) => join(dirname(configurationFile), name);
  checkContext(f, f.raw("context"), "context");
  for (const s of servers) {
    checkContext(f, s.context, `${s.path}.context`);
    for (const r of s.routes) {
      if (r.mirror) {
        f.walker.fail(
          `${r.path}.mirror_sources`,
          "not supported by the haproxy backend (nginx mirrors requests; HAProxy would need SPOE)",
        );
      }
    }
  }
  return {
    configurationFile,
    binary: f.stringOr("haproxy_binary", "haproxy"),
    pidPath: f.stringOr("haproxy_pid_path", beside("haproxy.pid"), checkFilePath),
    masterSocket: f.stringOr("haproxy_master_socket", beside("haproxy-master.sock"), checkFilePath),
    statsSocket: f.stringOr("haproxy_stats_socket", beside("haproxy-stats.sock"), checkFilePath),
    freeSlots: f.number("haproxy_free_slots", { min: 1, max: 10000, integer: true, def: 8 }),
  };
}
