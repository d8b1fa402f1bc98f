/**
 * How a failed check request is judged: a name that does not resolve is inconclusive
 * (aurproxy's own problem), everything else a failure with a short reason.
 *
 * @module
 */

import type { CheckResult } from "./state.ts";

const DNS_FAILURE =
  /dns error|failed to lookup address|name or service not known|nodename nor servname|no address associated|temporary failure in name resolution|ENOTFOUND|EAI_AGAIN/i;

/**
 * Turns a rejected `fetch` into a result: a name that does not resolve is inconclusive,
 * everything else a failure with a short reason.
 *
 * @example
 * ```ts
 * classifyFetchError(new TypeError("fetch failed", { cause: new Error("Connection refused") }));
 * // { kind: "failure", reason: "connection refused" }
 * ```
 */
export function classifyFetchError(err: unknown): CheckResult {
  const text = errorText(err);
  if (DNS_FAILURE.test(text)) return { kind: "inconclusive", reason: "cannot resolve host" };
  if (/refused/i.test(text)) return { kind: "failure", reason: "connection refused" };
  if (/reset|closed before message completed|broken pipe|unexpected eof/i.test(text)) {
    return { kind: "failure", reason: "connection reset" };
  }
  return { kind: "failure", reason: text.replace(/\s+/g, " ").trim().slice(0, 200) };
}

/** The message and the messages of its causes: Deno puts the useful part in `cause`. */
function errorText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}
