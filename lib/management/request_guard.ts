/**
 * Who may use the management port's lifecycle routes (`POST /quitquitquit`,
 * `/abortabortabort`), and which requests are refused outright.
 *
 * Aurora's executor posts to `http://localhost:<port>/quitquitquit` from the same host,
 * with no `Origin`. So by default a lifecycle POST is accepted only from a loopback peer
 * (`--management-lifecycle-allow` adds networks), and only when it did not come through a
 * proxy on behalf of someone else: a proxy on the host connects from loopback too, so
 * every address a forwarding header names (`X-Forwarded-For`, `X-Real-IP`, `Forwarded`)
 * must be allowed as well; nginx appends the real client, so a spoofed
 * `X-Forwarded-For: 127.0.0.1` does not help. A lifecycle request carrying any `Origin`
 * comes from a browser page and is refused. Any request carrying a foreign `Origin`
 * (or `Sec-Fetch-Site: cross-site`), which is what a cross-origin form or script sends, is
 * refused on every route: a browser page elsewhere never acts on the management port.
 *
 * @module
 */

import { contains, type IpNetwork, LOOPBACK, parseIp } from "./ip_network.ts";

/** Why a request was refused: the metric label, and the text answered with 403. */
export interface Refusal {
  readonly reason: "origin" | "peer" | "proxied";
  readonly message: string;
}

/**
 * A reason to refuse a request from a browser page of another origin, or undefined.
 * Same-origin is `Origin: http://<Host>` (the status page itself); a foreign or `null`
 * origin, or a `Sec-Fetch-Site` of `cross-site`/`same-site`, is foreign.
 */
export function crossOriginRefusal(headers: Headers): Refusal | undefined {
  const origin = headers.get("origin");
  const host = headers.get("host");
  if (
    origin !== null && (host === null || origin.toLowerCase() !== `http://${host.toLowerCase()}`)
  ) {
    return {
      reason: "origin",
      message: `requests from another origin (${origin.slice(0, 100)}) are refused`,
    };
  }
  const site = headers.get("sec-fetch-site");
  if (site === "cross-site" || site === "same-site") {
    return { reason: "origin", message: `requests from another site are refused` };
  }
  return undefined;
}

/** The addresses a request was forwarded for, as its proxies' headers name them. */
export function forwardedFor(headers: Headers): string[] {
  const out: string[] = [];
  for (const v of (headers.get("x-forwarded-for") ?? "").split(",")) {
    if (v.trim()) out.push(v.trim());
  }
  const real = headers.get("x-real-ip")?.trim();
  if (real) out.push(real);
  for (const element of (headers.get("forwarded") ?? "").split(/[,;]/)) {
    const m = /^\s*for\s*=\s*"?([^"]*)"?\s*$/i.exec(element);
    // `for="[2001:db8::1]:4711"` or `for=192.0.2.1:80`: the address without the port.
    if (m) out.push(m[1].replace(/^\[([^\]]*)\].*$/, "$1").replace(/^([0-9.]+):\d+$/, "$1"));
  }
  return out;
}

/** The networks allowed to use the lifecycle routes: loopback plus `extra`. */
export function lifecycleNetworks(extra: readonly IpNetwork[]): readonly IpNetwork[] {
  return [...LOOPBACK, ...extra];
}

function allowed(address: string, networks: readonly IpNetwork[]): boolean {
  const ip = parseIp(address);
  return ip !== undefined && networks.some((n) => contains(n, ip));
}

/**
 * A reason to refuse a lifecycle request from `peer` (the connecting address), or
 * undefined when it may shut aurproxy down.
 *
 * @example
 * ```ts
 * lifecycleRefusal(new Headers(), "127.0.0.1", lifecycleNetworks([])); // undefined
 * lifecycleRefusal(new Headers(), "192.0.2.7", lifecycleNetworks([]))?.reason; // "peer"
 * ```
 */
export function lifecycleRefusal(
  headers: Headers,
  peer: string,
  networks: readonly IpNetwork[],
): Refusal | undefined {
  const widen = "allow more networks with --management-lifecycle-allow";
  // Browsers send Origin with every POST, same-origin ones included; Aurora and curl
  // never do. Refusing it also covers a page whose name was rebound to 127.0.0.1 (its
  // Origin then matches Host, so the check on every route lets it through).
  const origin = headers.get("origin");
  if (origin !== null) {
    return {
      reason: "origin",
      message: `lifecycle requests from a browser page (Origin ${
        origin.slice(0, 100)
      }) are refused`,
    };
  }
  if (!allowed(peer, networks)) {
    return {
      reason: "peer",
      message: `lifecycle requests are accepted from ${
        networks.map((n) => n.text).join(", ")
      } only, not from ${peer}; ${widen}`,
    };
  }
  const behind = forwardedFor(headers).find((a) => !allowed(a, networks));
  if (behind !== undefined) {
    return {
      reason: "proxied",
      message: `lifecycle requests forwarded by a proxy for ${
        behind.slice(0, 60)
      } are refused; ${widen}`,
    };
  }
  return undefined;
}
