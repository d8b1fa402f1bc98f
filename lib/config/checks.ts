/**
 * What a valid string looks like, for each kind of string the config holds. Every string
 * that reaches the proxy's config file (context values, locations, server names, paths)
 * is checked for characters that could end or open a directive; values the proxy may
 * still refuse (`worker_connections: "lots"`) are left to its own test (`nginx -t`).
 *
 * Each check returns why a string is refused, or undefined to accept it.
 *
 * @module
 */

import { domainToASCII } from "node:url";
import { ambiguousIpv4, isValidHost } from "../model/endpoint.ts";

/** Characters that could end or open an nginx directive, block, comment or variable. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const UNSAFE = /[;{}"'\\#$`\x00-\x1f\x7f]/;
const UNSAFE_WHAT = "; { } quotes # $ \\ or control characters";
/** nginx prefix (`/api`, `^~ /api`) or exact (`= /api`) location. */
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const LOCATION = /^(= *|\^~ *)?\/[^\s;{}"'#\\$`\x00-\x1f\x7f]*$/;
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const PLAIN_PATH = /^\/[^\s;{}"'#\\$`\x00-\x1f\x7f]*$/;
/** Printable, no spaces: fits an HTTP request line. */
const HTTP_TARGET = /^\/[\x21-\x7e]*$/;
const SERVER_NAME = /^(default|_|(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?)$/;
// deno-lint-ignore no-control-regex -- control characters are exactly what must be refused
const NAME = /^[^\s/\x00-\x1f\x7f]+$/;

/** A context value: free text, but nothing that could break out of a directive. */
export function checkUnsafe(s: string): string | undefined {
  return UNSAFE.test(s)
    ? `unsafe characters in ${
      JSON.stringify(s)
    }: context values are rendered into nginx.conf and may not contain ${UNSAFE_WHAT}`
    : undefined;
}

/** An nginx prefix or exact location (`/api`, `^~ /static/`, `= /exact`). */
export function checkLocation(s: string): string | undefined {
  return LOCATION.test(s)
    ? undefined
    : `expected an nginx prefix location like "/api" or "= /exact", got ${JSON.stringify(s)}`;
}

/** Whether {@linkcode checkLocation} accepts `s`. */
export const isLocation = (s: string): boolean => LOCATION.test(s);

/** A path nginx answers itself (`healthcheck_route`): a prefix, or `= /path` for exactly it. */
export function checkHealthcheckRoute(s: string): string | undefined {
  return PLAIN_PATH.test(s.replace(/^= */, ""))
    ? undefined
    : `expected a path like "/healthcheck" (answered 200 by nginx), got ${JSON.stringify(s)}`;
}

/** An HTTP request target (a health check's `route`). */
export function checkHttpTarget(s: string): string | undefined {
  return HTTP_TARGET.test(s)
    ? undefined
    : `expected an HTTP path like "/health", got ${JSON.stringify(s)}`;
}

// deno-lint-ignore no-control-regex -- the ASCII range is what is tested
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * A server name as nginx compares it with the `Host` header: an internationalised name
 * (`test核.example.com`) in its IDNA ASCII form (`xn--test-jn2i.example.com`), which is
 * what clients send; an ASCII name unchanged. Empty when it has no IDNA form.
 *
 * @example
 * ```ts
 * asciiServerName("*.bücher.de"); // "*.xn--bcher-kva.de"
 * asciiServerName("Example.com"); // "Example.com"
 * ```
 */
export function asciiServerName(s: string): string {
  return NON_ASCII.test(s) ? domainToASCII(s) : s;
}

/**
 * A `server_name`: a host name (international names too, see
 * {@linkcode asciiServerName}), a `*.` or `.*` wildcard, `default` or `_`.
 */
export function checkServerName(s: string): string | undefined {
  const ascii = asciiServerName(s);
  if (NON_ASCII.test(s) && ascii === "") {
    return `expected a server name, got ${
      JSON.stringify(s)
    }: not a valid international domain name`;
  }
  return SERVER_NAME.test(ascii)
    ? undefined
    : `expected a server name like "example.com", "*.example.com" or "default", got ${
      JSON.stringify(s)
    }`;
}

/** A host name or IP address an endpoint may have. */
export function checkHost(s: string): string | undefined {
  if (isValidHost(s)) return undefined;
  return ambiguousIpv4(s) ?? `expected a hostname or IP address, got ${JSON.stringify(s)}`;
}

/** A name (port name, member prefix): no spaces, `/` or control characters. */
export function checkName(s: string): string | undefined {
  return NAME.test(s)
    ? undefined
    : `expected a name without spaces, "/" or control characters, got ${JSON.stringify(s)}`;
}

/** A file path that is written into the proxy's config file. */
export function checkFilePath(s: string): string | undefined {
  return UNSAFE.test(s) || /\s/.test(s)
    ? `expected a file path without spaces, ${UNSAFE_WHAT}, got ${JSON.stringify(s)}`
    : undefined;
}
