/**
 * The path locations are matched on, as nginx's `$uri`: percent-decoded once, `//`
 * merged, `.` and `..` segments resolved, a `..` above the root, a bad escape or a NUL
 * answered 400. HAProxy's `path` is the raw request path (`/%61dmin`, `//admin` and
 * `/x/../admin` are not `/admin` to it), so the routing rules match this copy, kept in
 * `txn.uri`, and the request itself is forwarded as the client sent it, as nginx's
 * `proxy_pass` without a URI part does (`http-request normalize-uri` would rewrite it,
 * and does not decode `%2F`).
 *
 * A path without `%`, `//` or `/.` is already normal: it is copied as it is, one substring
 * test and a copy per request. Only the others pay for the decoding and the rewrites.
 *
 * `..` is resolved in {@link DOTDOT_PASSES} passes, each removing every segment directly
 * followed by `..` (a recursive pattern would be one pass, but quadratic in the path's
 * length): a run of more consecutive `..` segments than that is left unresolved and
 * answered 400, where nginx resolves it (`/a/b/c/d/e/f/g/h/i/../../../../../../../../../x`).
 *
 * @module
 */

/** Consecutive `..` segments resolved; a longer run is answered 400. */
export const DOTDOT_PASSES = 8;

const ODD = "% // /.";

/** The conversions from the raw path to nginx's `$uri`, in order. */
const TO_URI = [
  // A NUL is refused by nginx: made a bad escape, which url_dec fails on (no variable).
  "regsub(%00,%zz,g)",
  "url_dec",
  "regsub(//+,/,g)",
  // A final `.` or `..` segment gets its slash (`/a/..` is `/`, `/a/.` is `/a/`), so every
  // dot segment below is followed by one.
  String.raw`'regsub("/(\.\.?)$","/\1/")'`,
  String.raw`'regsub("/\.(?=/)",,g)'`,
  ...Array<string>(DOTDOT_PASSES).fill(String.raw`'regsub("/(?!\.\./)[^/]+/\.\.(?=/)",,g)'`),
];

/**
 * Rules that set `txn.uri`, first in a frontend: a request whose path cannot be
 * normalised, or climbs above the root, is answered 400 (as nginx does).
 *
 * @example
 * ```ts
 * normalisedPathRules()[0]; // "    http-request set-var(txn.uri) path if !{ path_sub % // /. }"
 * ```
 */
export function normalisedPathRules(): string[] {
  return [
    `    http-request set-var(txn.uri) path if !{ path_sub ${ODD} }`,
    `    http-request set-var(txn.uri) path,${TO_URI.join(",")} unless { var(txn.uri) -m found }`,
    "    http-request deny deny_status 400 if !{ var(txn.uri) -m found } || { var(txn.uri) -m sub /../ }",
  ];
}

/**
 * The condition a location matches on: an exact path, or a prefix.
 *
 * @example
 * ```ts
 * pathCondition(false, "/api/"); // "{ var(txn.uri) -m beg /api/ }"
 * ```
 */
export function pathCondition(exact: boolean, path: string): string {
  return `{ var(txn.uri) -m ${exact ? "str" : "beg"} ${path} }`;
}
