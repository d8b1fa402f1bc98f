/**
 * Slugs: the names the renderer gives servers and upstreams. They derive from hosts,
 * ports, position and first location, so they are stable across restarts of the same
 * config, unique, and letters/digits/`_` only.
 *
 * @module
 */

/** `api/v1` → `api_v1`; nothing left → `root`. */
export function slugPart(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "root";
}

/** 32-bit FNV-1a as 8 hex digits: a short, stable tag for a truncated slug. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const MAX_SLUG_HOSTS = 40;

/**
 * `s_<hosts>_<ports>`, the hosts part cut (and tagged with a hash) when long.
 *
 * @example
 * ```ts
 * serverSlug(["a.b"], [80, 443]); // "s_a_b_80_443"
 * ```
 */
export function serverSlug(hosts: readonly string[], ports: readonly number[]): string {
  let h = hosts.map(slugPart).join("_") || "any";
  if (h.length > MAX_SLUG_HOSTS) {
    h = `${h.slice(0, MAX_SLUG_HOSTS).replace(/_+$/, "")}_${fnv1a(hosts.join(","))}`;
  }
  return `s_${h}_${ports.join("_")}`;
}

/**
 * Hands out unique slugs: the base itself the first time, then `<base>_2`, `<base>_3`...
 * (skipping any taken by another base), in the order asked.
 *
 * @example
 * ```ts
 * const unique = slugAllocator();
 * unique("s_a_80"); // "s_a_80"
 * unique("s_a_80"); // "s_a_80_2"
 * ```
 */
export function slugAllocator(): (base: string) => string {
  const taken = new Set<string>();
  /** The next suffix to try per base: many servers with one base stay linear. */
  const next = new Map<string, number>();
  return (base) => {
    let slug = base;
    let n = next.get(base) ?? 2;
    while (taken.has(slug)) slug = `${base}_${n++}`;
    next.set(base, n);
    taken.add(slug);
    return slug;
  };
}
