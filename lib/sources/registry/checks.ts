/**
 * What the ZooKeeper sources' strings must look like: an ensemble's connect string, a
 * znode path, an Aurora name. Each check returns why a string is refused, or undefined.
 *
 * @module
 */

import { isValidHost, isValidPort } from "../../model/endpoint.ts";

/** Aurora's own rule for role, environment and job names. */
const AURORA_NAME = /^[\w.-]+$/;

/** A `host:port,host:port` connect string. */
export function checkZkServers(s: string): string | undefined {
  for (const part of s.split(",")) {
    const m = /^\s*([^\s:/]+):(\d+)\s*$/.exec(part);
    if (!m || !isValidHost(m[1]) || !isValidPort(Number(m[2]))) {
      const chroot = part.includes("/")
        ? " (a chroot suffix is not supported: put it in the source's path)"
        : "";
      return `expected "host:port,host:port", bad entry ${JSON.stringify(part)}${chroot}`;
    }
  }
  return undefined;
}

/** A znode path. */
export function checkZnode(s: string): string | undefined {
  // The server refuses "." and ".." segments; a source on such a path would retry forever.
  if (s.split("/").some((seg) => seg === "." || seg === "..")) {
    return `expected a ZooKeeper path without "." or ".." segments, got ${JSON.stringify(s)}`;
  }
  // deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
  return /[\s\x00-\x1f\x7f]/.test(s) || s.replace(/\/+/g, "") === ""
    ? `expected a ZooKeeper path like "/aurora", got ${JSON.stringify(s)}`
    : undefined;
}

/** An Aurora role, environment or job name. */
export function checkAuroraName(s: string): string | undefined {
  return AURORA_NAME.test(s) && s !== "." && s !== ".."
    ? undefined
    : `expected an Aurora name (letters, digits, "_", "-", "."), got ${JSON.stringify(s)}`;
}
