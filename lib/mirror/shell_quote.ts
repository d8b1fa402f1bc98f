/**
 * Quoting values into a bash script. Hosts come from a registry anyone with write access
 * to ZooKeeper can fill, so nothing but a whitelist of plain characters is ever written
 * unquoted; everything else is single-quoted, where bash gives no character a meaning.
 *
 * Plain values are written exactly as the original's templates wrote them (bare, or in
 * its double quotes), so a script for ordinary hosts reads the same as before.
 *
 * @module
 */

/** Characters that mean nothing to bash outside quotes (no globs, no expansions). */
const BARE = /^[A-Za-z0-9_.\/:@%+=,-]+$/;
/** Characters that mean nothing inside double quotes (`[`, `]` and `|` are literal there). */
const IN_DOUBLE = /^[A-Za-z0-9_.\/:@%+=,|\[\]-]*$/;

function checkNul(value: string): void {
  // An argument cannot carry NUL at all: refuse rather than let bash drop or truncate it.
  if (value.includes("\0")) throw new TypeError(`NUL byte in shell value ${JSON.stringify(value)}`);
}

/**
 * `value` single-quoted: `it's` → `'it'\''s'`. Safe for any string without NUL.
 *
 * @example
 * ```ts
 * singleQuote("$(reboot)"); // "'$(reboot)'"
 * ```
 */
export function singleQuote(value: string): string {
  checkNul(value);
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `value` as one bash word: bare when it is plain, single-quoted otherwise.
 *
 * @example
 * ```ts
 * shellWord("/tmp/mirror_pid"); // "/tmp/mirror_pid"
 * shellWord("/tmp/my pid");     // "'/tmp/my pid'"
 * ```
 */
export function shellWord(value: string): string {
  checkNul(value);
  return BARE.test(value) ? value : singleQuote(value);
}

/**
 * `value` in double quotes as the original wrote gor's targets when it is plain,
 * single-quoted otherwise: both are one word bash passes on unchanged.
 *
 * @example
 * ```ts
 * doubleQuotedWord("10.0.0.1:8080|1000"); // "\"10.0.0.1:8080|1000\""
 * doubleQuotedWord("`id`:80|10");         // "'`id`:80|10'"
 * ```
 */
export function doubleQuotedWord(value: string): string {
  checkNul(value);
  return IN_DOUBLE.test(value) ? `"${value}"` : singleQuote(value);
}
