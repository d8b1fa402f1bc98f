/**
 * What a registry source says about itself on /health and the status page: a pure
 * function of where it stands, so every wording is tested without a session.
 *
 * @module
 */

import type { ZkState } from "../../zk/reader.ts";
import type { SourceStatus } from "../source.ts";

/** What a source serves when it started without reading its registry. */
export interface StartFallback {
  /** "the state file", "the live nginx config". */
  readonly from: string;
  /** When the state file last knew them current (ms); absent for the live config. */
  readonly savedAt?: number;
}

/** Where a registry source stands. */
export interface RegistryStanding {
  readonly zkPath: string;
  /** Endpoints served. */
  readonly served: number;
  readonly state: ZkState;
  readonly stateSince: number;
  readonly now: number;
  /** Connected, read at least once, and the last read succeeded. */
  readonly current: boolean;
  readonly reads: number;
  /** Why the last read failed, until one succeeds. */
  readonly failure?: string;
  /** Served before any read, and where they came from. */
  readonly fallback?: StartFallback;
  /** While the registry lists no member and the previous endpoints are kept: until when. */
  readonly keptUntil?: number;
}

/**
 * @example
 * ```ts
 * registryStatus({
 *   zkPath: "/aurora/r/e/web", served: 2, state: "connecting", stateSince: 0, now: 9000,
 *   current: false, reads: 0, fallback: { from: "the live nginx config" },
 * });
 * // { healthy: false, detail: "ZooKeeper not reached yet: serving 2 endpoint(s) from the live nginx config" }
 * ```
 */
export function registryStatus(s: RegistryStanding): SourceStatus {
  const n = s.served;
  const ageS = (t: number) => Math.round((s.now - t) / 1000);
  if (s.keptUntil !== undefined && s.current) {
    const left = Math.max(0, Math.ceil((s.keptUntil - s.now) / 1000));
    return {
      healthy: false,
      detail: `connected, but ${s.zkPath} has no member: keeping ${n} previous endpoint(s) ` +
        `for ${left}s more`,
    };
  }
  if (s.current) return { healthy: true, detail: `connected, ${n} endpoint(s)` };
  if (s.reads === 0) {
    const fb = s.fallback;
    return {
      healthy: false,
      detail: fb
        ? `ZooKeeper not reached yet: serving ${n} endpoint(s) from ${fb.from}${
          fb.savedAt === undefined ? "" : ` (${ageS(fb.savedAt)}s old)`
        }`
        : "ZooKeeper not reached yet: no endpoints",
    };
  }
  return {
    healthy: false,
    detail: s.state === "connected" && s.failure
      ? `connected, but reading ${s.zkPath} failed (${s.failure}): serving ${n} last known endpoint(s)`
      : `${s.state} since ${new Date(s.stateSince).toISOString()} (${
        ageS(s.stateSince)
      }s): serving ${n} last known endpoint(s)`,
  };
}
