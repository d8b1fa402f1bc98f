/**
 * Telling HAProxy's failure replies from its successes. The CLI has no status codes: a
 * command answers with text, often nothing at all on success. The phrases below are
 * HAProxy 2.6's own (captured from the real binary, see tests/unit/haproxy_cli_reply_test.ts);
 * anything that matches none of them counts as success, so a new success message in a
 * later HAProxy is not mistaken for a failure, while each typed command of the client also
 * checks for the success it expects.
 *
 * @module
 */

const FAILURES: readonly RegExp[] = [
  /^No such (server|backend|frontend|table|map|proxy)/i,
  /^Require '/,
  /^Unknown command/,
  /^Permission denied/,
  /expects '/,
  /^Absolute weight can only be/,
  /^Relative weight can only be/,
  /^Invalid /,
  /^Only servers in maintenance mode can be deleted/,
  /^Server still has connections/,
  /^Server .* is still referenced/,
  /^Server is still in use/,
  /^Already exists a server/,
  /^Backend must use a dynamic load balancing/,
  /^Backend is disabled/,
  /^This command is restricted to experimental mode/,
  /^'[^']+' (expects|requires)/,
  /^(unknown|missing|unsupported|invalid) /i,
  /^Error/i,
  /^Out of memory/i,
];

/**
 * The failure message in `reply` (its first line: HAProxy's failures are one line, but
 * for the list of commands after `Unknown command`), or undefined when it is not one of
 * HAProxy's failure phrases.
 *
 * @example
 * ```ts
 * failureOf("No such server.\n\n"); // "No such server."
 * failureOf("\n"); // undefined: `set server … weight` answers nothing on success
 * failureOf("IP changed from '0.0.0.0' to '10.0.0.5' by 'stats socket command'\n"); // undefined
 * ```
 */
export function failureOf(reply: string): string | undefined {
  const text = reply.trim();
  if (!text) return undefined;
  const first = text.split("\n")[0];
  return FAILURES.some((re) => re.test(first)) ? first : undefined;
}
