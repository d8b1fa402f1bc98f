/**
 * Why a ZooKeeper operation failed, as a value callers can branch on: the server's error
 * code, or one of aurproxy's own reasons (the call's bound passed, the session was closed
 * or expired under it).
 *
 * @module
 */

import { NO_NODE } from "./client.ts";

/** Why an operation failed: a ZooKeeper error code, or one of aurproxy's own reasons. */
export type ZkOpCode = number | "timeout" | "closed" | "expired";

/**
 * A ZooKeeper error with its code (e.g. {@linkcode NO_NODE}).
 *
 * @example
 * ```ts
 * import { NO_NODE } from "./client.ts";
 *
 * const err = new ZkOpError("getData /sd/web: no node", NO_NODE);
 * isNoNode(err); // true
 * ```
 */
export class ZkOpError extends Error {
  override name = "ZkOpError";
  /** The server's error code, or aurproxy's own reason. */
  readonly code: ZkOpCode;
  constructor(message: string, code: ZkOpCode) {
    super(message);
    this.code = code;
  }
}

/**
 * True when `err` says the node does not exist.
 *
 * @example
 * ```ts
 * import { NO_NODE } from "./client.ts";
 *
 * isNoNode(new ZkOpError("gone", NO_NODE)); // true
 * isNoNode(new ZkOpError("slow", "timeout")); // false
 * ```
 */
export function isNoNode(err: unknown): boolean {
  return err instanceof ZkOpError && err.code === NO_NODE;
}
