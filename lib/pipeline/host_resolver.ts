/**
 * Host names → addresses, resolved by aurproxy instead of by nginx.
 *
 * nginx resolves every upstream host name while it loads a config, one blocking lookup
 * after another, and rejects the whole config when a single name does not resolve. A
 * registry member naming a retired agent whose DNS record is gone would then freeze every
 * route, a DNS hiccup during `nginx -t` would fail an update, and 2,000 names would slow
 * every reload. So names are resolved here (the system resolver, as nginx would: hosts
 * file first), cached, refreshed in the background, and rendered as addresses:
 *
 * - a name that has never resolved is left out of the config (reported on the status
 *   page, in the nginx comments and as a metric), and retried on every update;
 * - a name that resolved once keeps its last address while lookups fail (a DNS outage
 *   must not empty the pools);
 * - a changed address signals an update.
 *
 * @module
 */

import { lookup as dnsLookup } from "node:dns/promises";
import type { Clock, TimerId } from "../clock.ts";
import { isIpLiteral } from "../model/endpoint.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";

/** One name's address, or why there is none. */
export type Resolution = { readonly address: string } | { readonly error: string };

/** Resolves one name to one address; rejects when it cannot. */
export type LookupFn = (host: string) => Promise<string>;

export interface HostResolverOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
  /** Default: the system resolver ({@linkcode systemLookup}). */
  readonly lookup?: LookupFn;
  /** How often known names are looked up again (default 30 s). */
  readonly refreshMs?: number;
  /** A lookup slower than this counts as failed for now (default 2 s). */
  readonly timeoutMs?: number;
  /** Lookups in flight at once (default 16). */
  readonly concurrency?: number;
  /**
   * A name that has never resolved is tried again by an update at most this often
   * (default 5 s), so a hanging DNS server does not slow every update down.
   */
  readonly retryMs?: number;
}

interface Entry {
  address?: string;
  error?: string;
  /** When the last lookup failed (ms). */
  failedAt?: number;
  /** Asked for since the last refresh; names nobody asks for are forgotten. */
  used: boolean;
}

const FAILURES = ["dns_lookup_failures_total", "Host name lookups that failed."] as const;

/**
 * The system resolver (`getaddrinfo`: hosts file, then DNS), preferring an IPv4 address as
 * registries and backends mostly listen on IPv4.
 */
export const systemLookup: LookupFn = async (host) => {
  const all = await dnsLookup(host, { all: true });
  const pick = all.find((a) => a.family === 4) ?? all[0];
  if (!pick) throw new Error(`${host}: no address`);
  return pick.address;
};

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 *
 * // A stand-in lookup, so the example needs no DNS; the default is the system resolver.
 * const dns = new HostResolver({
 *   clock: systemClock,
 *   logger: memoryLogger(),
 *   lookup: () => Promise.resolve("10.0.0.1"),
 * });
 * dns.start(() => console.log("an address changed: update the proxy"));
 * await dns.resolve(["agent1.example.com", "10.0.0.2"]);
 * console.log(dns.addressOf("agent1.example.com")); // { address: "10.0.0.1" }
 * dns.stop();
 * ```
 */
export class HostResolver {
  readonly #o: HostResolverOptions;
  readonly #lookup: LookupFn;
  readonly #cache = new Map<string, Entry>();
  #timer?: TimerId;
  #onChange?: () => void;

  constructor(o: HostResolverOptions) {
    this.#o = o;
    this.#lookup = o.lookup ?? systemLookup;
    o.metrics?.declareCounter(FAILURES[0], FAILURES[1]);
  }

  /** The address to render for `host`: itself when it is an IP literal. Never does I/O. */
  addressOf(host: string): Resolution {
    if (isIpLiteral(host)) return { address: host };
    const e = this.#cache.get(host);
    if (!e) return { error: "not resolved yet" };
    e.used = true;
    return e.address !== undefined ? { address: e.address } : { error: e.error ?? "no address" };
  }

  /**
   * Looks up every name in `hosts` that has no address yet (names with one are refreshed
   * in the background, not here), so an update waits only for names it has never seen.
   */
  async resolve(hosts: Iterable<string>): Promise<void> {
    const todo = new Set<string>();
    const retryBefore = this.#o.clock.now() - (this.#o.retryMs ?? 5000);
    for (const h of hosts) {
      if (isIpLiteral(h)) continue;
      const e = this.#cache.get(h);
      if (e) e.used = true;
      if (!e || (e.address === undefined && (e.failedAt ?? 0) <= retryBefore)) todo.add(h);
    }
    if (todo.size > 0) await this.#lookupAll([...todo]);
  }

  /** Begins the background refresh; `onChange` hears about every changed address. */
  start(onChange: () => void): void {
    this.#onChange = onChange;
    this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#onChange = undefined;
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setTimeout(async () => {
      this.#timer = undefined;
      for (const [h, e] of this.#cache) {
        if (!e.used) this.#cache.delete(h);
        else e.used = false;
      }
      const changed = await this.#lookupAll([...this.#cache.keys()]);
      if (!this.#onChange) return; // stopped meanwhile
      if (changed) this.#onChange();
      this.#schedule();
    }, this.#o.refreshMs ?? 30_000);
  }

  /** Looks names up with bounded concurrency; true when an address appeared or changed. */
  async #lookupAll(hosts: readonly string[]): Promise<boolean> {
    let changed = false;
    let next = 0;
    const worker = async () => {
      while (next < hosts.length) {
        if (await this.#lookupOne(hosts[next++])) changed = true;
      }
    };
    const n = Math.min(hosts.length, this.#o.concurrency ?? 16);
    await Promise.all(Array.from({ length: n }, worker));
    return changed;
  }

  async #lookupOne(host: string): Promise<boolean> {
    const { clock, logger, metrics } = this.#o;
    const timeoutMs = this.#o.timeoutMs ?? 2000;
    let timer: TimerId | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = clock.setTimeout(
        () => reject(new Error(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const entry = this.#cache.get(host) ?? { used: true };
    this.#cache.set(host, entry);
    try {
      const address = await Promise.race([this.#lookup(host), timeout]);
      const changed = entry.address !== address;
      if (changed && entry.address !== undefined) {
        logger.info(`${host}: address changed from ${entry.address} to ${address}`);
      }
      entry.address = address;
      entry.error = entry.failedAt = undefined;
      return changed;
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      metrics?.inc(FAILURES[0], FAILURES[1]);
      if (entry.error !== why) {
        logger.warn(
          entry.address === undefined
            ? `cannot resolve ${host}, its endpoints get no traffic: ${why}`
            : `cannot resolve ${host}, keeping its last address ${entry.address}: ${why}`,
        );
      }
      entry.error = why;
      entry.failedAt = clock.now();
      return false;
    } finally {
      clock.clearTimeout(timer!);
    }
  }
}
