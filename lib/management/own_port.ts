/**
 * Recognises an endpoint that is aurproxy's own management port. A registry member
 * registered (by mistake or on purpose) at `127.0.0.1:<management port>`, or at this
 * host's address and that port, would have nginx route public traffic, `POST
 * /quitquitquit` included, to the management server, and nginx connects from loopback.
 * Such a member is left out of the proxy config (see `BuildOptions.leaveOut` in
 * `lib/pipeline/snapshot_builder.ts`), counted, and logged once.
 *
 * Which addresses reach the server depends on what it is bound to: bound to `0.0.0.0` or
 * `::` (the default), every loopback address, `0.0.0.0` and every address of this host's
 * interfaces does; bound to one address, that one does (and `0.0.0.0` too when it is a
 * loopback address, as a connection to `0.0.0.0` goes to loopback).
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { isLoopback, isUnspecified, parseIp, sameIp } from "./ip_network.ts";

export interface OwnPortOptions {
  /** `--management-host`: the address the management server binds. */
  readonly hostname: string;
  /** The management port: the one listened on once known, `--management-port` before. */
  readonly port: () => number;
  /** The addresses of this host's interfaces (`Deno.networkInterfaces()`). */
  readonly localAddresses: readonly string[];
  readonly logger: Logger;
}

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 *
 * const own = new OwnPortCheck({
 *   hostname: "0.0.0.0",
 *   port: () => 31325,
 *   localAddresses: ["10.1.2.3"],
 *   logger: memoryLogger(),
 * });
 * own.reason("127.0.0.1", 31325); // "points at aurproxy's own management port ..."
 * own.reason("10.1.2.4", 31325); // undefined: another host
 * ```
 */
export class OwnPortCheck {
  readonly #o: OwnPortOptions;
  readonly #bound?: Uint8Array;
  readonly #local: Uint8Array[];
  readonly #logged = new Set<string>();

  constructor(o: OwnPortOptions) {
    this.#o = o;
    const bound = parseIp(o.hostname);
    // A host name (`localhost`, this host's name) is taken as every local address.
    this.#bound = bound && !isUnspecified(bound) ? bound : undefined;
    this.#local = o.localAddresses.flatMap((a) => parseIp(a) ?? []);
  }

  /**
   * Why the endpoint at `address:port` must be left out (it is the management port), or
   * undefined. `address` is the address rendered (a host name resolved).
   */
  reason(address: string, port: number): string | undefined {
    const mgmt = this.#o.port();
    if (port !== mgmt || mgmt === 0) return undefined;
    const ip = parseIp(address);
    if (!ip || !this.#reaches(ip)) return undefined;
    const why = `points at aurproxy's own management port (${address}:${port})`;
    if (!this.#logged.has(`${address}:${port}`)) {
      this.#logged.add(`${address}:${port}`);
      this.#o.logger.warn(
        `left out endpoint ${address}:${port}: it ${why}; nginx would send public traffic, ` +
          `POST /quitquitquit included, to the management server`,
      );
    }
    return why;
  }

  #reaches(ip: Uint8Array): boolean {
    const bound = this.#bound;
    if (bound) return sameIp(ip, bound) || (isLoopback(bound) && isUnspecified(ip));
    return isLoopback(ip) || isUnspecified(ip) || this.#local.some((l) => sameIp(l, ip));
  }
}
