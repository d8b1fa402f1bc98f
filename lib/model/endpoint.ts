/**
 * Endpoints: a host and port of one running instance, plus its named ports.
 *
 * Everything that reaches the nginx config from outside (ZooKeeper, the API source)
 * passes {@linkcode validateEndpointFields} first, so a host can never carry nginx
 * syntax: only hostnames and IP literals are accepted.
 *
 * @module
 */

/** One running instance that can receive traffic. Immutable. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /**
   * Named ports of the instance (Aurora's `additionalEndpoints`, plus the service
   * endpoint); health checks may target one of them via `port_name`.
   */
  readonly ports: Readonly<Record<string, number>>;
  /** Where it came from (e.g. the znode path), for logs and the status page. */
  readonly origin?: string;
}

/** Stable identity of an endpoint within a source: `host:port`. */
export function endpointKey(e: Pick<Endpoint, "host" | "port">): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

const HOSTNAME_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** True for an IPv4 or IPv6 literal: nothing to resolve. */
export function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || (host.includes(":") && IPV6.test(host) && isIpv6(host));
}

/** A label the resolver reads as a number: decimal, or `0x` hexadecimal. */
const NUMERIC_LABEL = /^(?:\d+|0[xX][0-9A-Fa-f]*)$/;

/**
 * Why `host` is an ambiguous IPv4 spelling, or undefined. A name whose last label is a
 * number (`2130706433`, `127.1`, `0x7f.1`, `010.0.0.1`) is no DNS name: resolvers read
 * it as an IPv4 address, each in its own way (`010` may be octal), so only the plain
 * dotted quad (`127.0.0.1`) is taken.
 *
 * @example
 * ```ts
 * ambiguousIpv4("127.1"); // '"127.1" is an ambiguous IPv4 spelling (read as 127.0.0.1) ...'
 * ambiguousIpv4("127.0.0.1"); // undefined
 * ambiguousIpv4("web-1.example.com"); // undefined
 * ```
 */
export function ambiguousIpv4(host: string): string | undefined {
  if (IPV4.test(host)) return undefined;
  const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
  if (!NUMERIC_LABEL.test(labels[labels.length - 1])) return undefined;
  let read: string | undefined;
  try {
    // The URL standard's IPv4 parser, the most common reading.
    read = new URL(`http://${host}/`).hostname;
  } catch {
    read = undefined;
  }
  const how = read && IPV4.test(read) ? ` (read as ${read})` : "";
  return `${JSON.stringify(host)} is an ambiguous IPv4 spelling${how}: write an address as ` +
    `four decimal numbers (like 127.0.0.1); a host name may not end in a number`;
}

/**
 * True for a plain hostname (RFC 1123 labels, `_` tolerated as some internal DNS uses it),
 * an IPv4 literal or an IPv6 literal. Nothing else: no spaces, quotes, braces, semicolons,
 * nor an IPv4 address spelled other than as a dotted quad ({@linkcode ambiguousIpv4}).
 */
export function isValidHost(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (IPV4.test(host)) return true;
  if (host.includes(":")) return IPV6.test(host) && isIpv6(host);
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".");
  return labels.every((l) => HOSTNAME_LABEL.test(l)) && ambiguousIpv4(host) === undefined;
}

function isIpv6(host: string): boolean {
  try {
    // URL parsing is the runtime's own IPv6 grammar; reuse it rather than a hand regex.
    return new URL(`http://[${host}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** True for an integer port 1..65535. */
export function isValidPort(port: unknown): port is number {
  return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/**
 * Returns `null` when host and port are safe to render, else the reason, naming the field.
 *
 * @example
 * ```ts
 * validateEndpointFields("1.2.3.4; } server {", 80); // "host: not a hostname or IP literal: ..."
 * ```
 */
export function validateEndpointFields(host: unknown, port: unknown): string | null {
  if (typeof host !== "string") return `host: expected a string, got ${typeof host}`;
  if (!isValidHost(host)) {
    return `host: ${
      ambiguousIpv4(host) ?? `not a hostname or IP literal: ${JSON.stringify(host)}`
    }`;
  }
  if (!isValidPort(port)) return `port: expected an integer 1-65535, got ${JSON.stringify(port)}`;
  return null;
}
