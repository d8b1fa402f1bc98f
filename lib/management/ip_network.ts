/**
 * IP addresses and networks (CIDR), for deciding which peers may use the lifecycle
 * routes. Addresses are held as 16 bytes: an IPv4 address as its IPv4-mapped IPv6 form
 * (`::ffff:a.b.c.d`), so `127.0.0.0/8` also covers a peer Deno reports as
 * `::ffff:127.0.0.1`.
 *
 * @module
 */

/** A network: an address and how many of its leading bits must match. */
export interface IpNetwork {
  readonly text: string;
  readonly bytes: Uint8Array;
  /** Leading bits compared, 0–128 (an IPv4 /n is 96 + n). */
  readonly bits: number;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function ipv4(s: string): number[] | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    // Dotted decimal only: `0x7f.1` or `010.0.0.1` are ambiguous spellings, not addresses.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

function ipv6(s: string): number[] | undefined {
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = ipv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

/**
 * The 16 bytes of an IPv4 or IPv6 address (brackets and an IPv6 zone allowed), or
 * undefined when `s` is not one.
 *
 * @example
 * ```ts
 * parseIp("127.0.0.1")?.[15]; // 1
 * parseIp("localhost"); // undefined
 * ```
 */
export function parseIp(s: string): Uint8Array | undefined {
  const t = s.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = ipv4(t);
  if (v4) return Uint8Array.from([...MAPPED_PREFIX, ...v4]);
  const v6 = t.includes(":") ? ipv6(t) : undefined;
  return v6 ? Uint8Array.from(v6) : undefined;
}

/**
 * Parses `a.b.c.d/n`, `x::y/n`, or a bare address (all its bits). Throws an Error that
 * says what is wrong.
 *
 * @example
 * ```ts
 * contains(parseNetwork("10.0.0.0/8"), parseIp("10.1.2.3")!); // true
 * ```
 */
export function parseNetwork(s: string): IpNetwork {
  const text = s.trim();
  const [addr, len, extra] = text.split("/");
  const bytes = addr === undefined ? undefined : parseIp(addr);
  if (!bytes || extra !== undefined) {
    throw new Error(`${JSON.stringify(s)} is not an IP address or network (a.b.c.d/n, x::y/n)`);
  }
  const v4 = ipv4(addr.trim()) !== undefined;
  const max = v4 ? 32 : 128;
  if (len !== undefined && !/^[0-9]{1,3}$/.test(len)) {
    throw new Error(`${JSON.stringify(s)}: the prefix length must be a number 0-${max}`);
  }
  const n = len === undefined ? max : Number(len);
  if (n > max) throw new Error(`${JSON.stringify(s)}: the prefix length must be 0-${max}`);
  return { text, bytes, bits: v4 ? 96 + n : n };
}

/** True when `addr` (from {@linkcode parseIp}) is inside `net`. */
export function contains(net: IpNetwork, addr: Uint8Array): boolean {
  let bits = net.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((net.bytes[i] & mask) !== (addr[i] & mask)) return false;
  }
  return true;
}

/** Loopback networks: IPv4 127.0.0.0/8 and IPv6 ::1. */
export const LOOPBACK: readonly IpNetwork[] = [parseNetwork("127.0.0.0/8"), parseNetwork("::1")];

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(addr: Uint8Array): boolean {
  return LOOPBACK.some((n) => contains(n, addr));
}

/** True for 0.0.0.0 and `::`, which a connecting socket takes to mean this host. */
export function isUnspecified(addr: Uint8Array): boolean {
  const zeroV6 = addr.every((b) => b === 0);
  const zeroV4 = MAPPED_PREFIX.every((b, i) => addr[i] === b) &&
    addr.subarray(12).every((b) => b === 0);
  return zeroV6 || zeroV4;
}

/** The same address as bytes, for comparing two spellings. */
export function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
