/**
 * The `expiration` of a source added over HTTP: an ISO-8601 time at least a minute ahead,
 * refused with the original's messages otherwise. A time without an offset is local time,
 * as the original compared it with the host's local clock.
 *
 * @module
 */

/** The original's answer (400) to an expiration that is not a time. */
export const EXPIRATION_UNPARSABLE = "Attempt to parse expiration failed!";
/** The original's answer (400) to an expiration less than a minute ahead. */
export const EXPIRATION_TOO_SOON = "Expiration must occur at least 1 minute in the future!";

/** How far ahead an expiration must be. */
export const MIN_EXPIRATION_AHEAD_MS = 60_000;

/** An expiration as read: when (ms since the epoch; null for never), or why not. */
export type ParsedExpiration =
  | { readonly ok: true; readonly at: number | null }
  | { readonly ok: false; readonly message: string };

const ISO = new RegExp(
  "^(\\d{4})-(\\d{2})-(\\d{2})" +
    "(?:[T ](\\d{2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?(Z|z|[+-]\\d{2}(?::?\\d{2})?)?)?$",
);

/**
 * The instant an ISO-8601 date or date-time names (ms since the epoch), or undefined when
 * `s` is not one: `2030-01-02`, `2030-01-02T03:04`, `2030-01-02T03:04:05.123456+02:00`,
 * `...Z`. Without an offset the time is local.
 *
 * @example
 * ```ts
 * parseIsoTime("2030-01-02T03:04:05Z"); // 1893553445000
 * parseIsoTime("2030-02-30T00:00:00Z"); // undefined
 * ```
 */
export function parseIsoTime(s: string): number | undefined {
  const m = ISO.exec(s.trim());
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, sec = 0] = m.slice(1, 7).map((v) =>
    v === undefined ? undefined : Number(v)
  ) as number[];
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return undefined;
  // Day 31 of a 30-day month rolls over: compare the fields back.
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCDate() !== d || probe.getUTCMonth() !== mo - 1) return undefined;
  const zone = m[8];
  if (zone === undefined) return new Date(y, mo - 1, d, h, mi, sec, ms).getTime();
  const utc = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  if (zone === "Z" || zone === "z") return utc;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const oh = Number(digits.slice(0, 2));
  const om = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (oh > 23 || om > 59) return undefined;
  return utc - sign * (oh * 60 + om) * 60_000;
}

/**
 * Reads a PUT's `expiration` at `now`: absent, null or empty means never (as the
 * original treated a false value); anything else must be an ISO-8601 time at least
 * {@linkcode MIN_EXPIRATION_AHEAD_MS} ahead.
 *
 * @example
 * ```ts
 * const now = Date.parse("2030-01-01T00:00:00Z");
 * parseExpiration("2030-01-01T00:05:00Z", now); // { ok: true, at: now + 300000 }
 * parseExpiration("2030-01-01T00:00:30Z", now).ok; // false (less than a minute ahead)
 * parseExpiration(undefined, now); // { ok: true, at: null }
 * ```
 */
export function parseExpiration(raw: unknown, now: number): ParsedExpiration {
  if (raw === undefined || raw === null || raw === "") return { ok: true, at: null };
  const at = typeof raw === "string" ? parseIsoTime(raw) : undefined;
  if (at === undefined || !Number.isFinite(at)) {
    return { ok: false, message: EXPIRATION_UNPARSABLE };
  }
  if (at < now + MIN_EXPIRATION_AHEAD_MS) return { ok: false, message: EXPIRATION_TOO_SOON };
  return { ok: true, at };
}

/** An expiration as answered (`GET`) and stored: ISO-8601 in UTC, or null. */
export function formatExpiration(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}
