/**
 * nginx's options: the original's top-level keys (`configuration_file`,
 * `nginx_pid_path`, `stats_port`) plus where to find nginx (`nginx_binary`,
 * `nginx_prefix`).
 *
 * @module
 */

import { checkFilePath } from "../../config/checks.ts";
import type { Fields } from "../../config/walker.ts";
import type { ServerConfig } from "../../model/config.ts";

/** What the nginx backend needs to know beyond the snapshot. */
export interface NginxOptions {
  /** `configuration_file`, default `/etc/aurproxy/nginx/nginx.conf`. */
  readonly configurationFile: string;
  /** `nginx_pid_path`, default `/var/run/nginx.pid`. */
  readonly pidPath: string;
  /** `stats_port`: a loopback-only `stub_status` server, when set. */
  readonly statsPort?: number;
  /** `nginx_binary`, default `nginx` (looked up in PATH, then /usr/sbin/nginx). */
  readonly binary: string;
  /** `nginx_prefix`: passed as `-p`, for nginx running out of a private directory. */
  readonly prefix?: string;
}

/**
 * Reads nginx's keys from the top level of the config.
 *
 * @example
 * ```ts
 * import { Walker } from "../../config/walker.ts";
 * const top = new Walker().fields({ nginx_pid_path: "/run/nginx.pid" }, "")!;
 * parseNginxOptions(top, []).configurationFile; // "/etc/aurproxy/nginx/nginx.conf"
 * ```
 */
export function parseNginxOptions(f: Fields, servers: readonly ServerConfig[]): NginxOptions {
  const statsPort = f.number("stats_port", { min: 1, max: 65535, integer: true });
  const user = statsPort === undefined
    ? undefined
    : servers.find((s) => s.ports.includes(statsPort));
  if (user) f.fail("stats_port", `port ${statsPort} is also used by ${user.path}`);
  return {
    configurationFile: f.stringOr(
      "configuration_file",
      "/etc/aurproxy/nginx/nginx.conf",
      checkFilePath,
    ),
    pidPath: f.stringOr("nginx_pid_path", "/var/run/nginx.pid", checkFilePath),
    statsPort,
    binary: f.stringOr("nginx_binary", "nginx"),
    prefix: f.string("nginx_prefix"),
  };
}
