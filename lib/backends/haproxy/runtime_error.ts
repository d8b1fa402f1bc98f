/**
 * The one error HAProxy's runtime API client raises: it names the socket, the command
 * and, when HAProxy answered, its reply, so a log line alone says what went wrong.
 *
 * @module
 */

/**
 * How a runtime API call failed: `connect` (no socket, refused, permission), `timeout`
 * (no complete answer in time), `io` (the connection broke mid-answer), `reply` (HAProxy
 * answered with one of its failure messages).
 */
export type RuntimeApiFailure = "connect" | "timeout" | "io" | "reply";

/**
 * A failed runtime API call.
 *
 * @example
 * ```ts
 * const e = new RuntimeApiError("reply", "/run/haproxy.sock", "set server b/x weight 3", "No such server.");
 * e.message; // "/run/haproxy.sock: set server b/x weight 3: No such server."
 * ```
 */
export class RuntimeApiError extends Error {
  override readonly name = "RuntimeApiError";
  readonly kind: RuntimeApiFailure;
  /** The socket's path. */
  readonly path: string;
  /** The command line sent (or the first of a batch). */
  readonly command: string;
  /** HAProxy's reply, trimmed, for `reply`; what the OS said otherwise. */
  readonly reply: string;

  constructor(kind: RuntimeApiFailure, path: string, command: string, reply: string) {
    super(`${path}: ${command}: ${reply}`);
    this.kind = kind;
    this.path = path;
    this.command = command;
    this.reply = reply;
  }
}
