/**
 * The management port's HTTP server, on its own accept loop.
 *
 * `Deno.serve` (Deno 2.9) has no header, idle or request timeout and no connection cap,
 * and an accept error kills it: at a lowered descriptor limit, 230 connections that send
 * nothing made it throw `Too many open files` out of reach of any handler, and aurproxy
 * exited, leaving nginx on its last config; catching that rejection leaves the listener
 * closed for good. `node:http` has the timeouts, but its listener stops accepting for
 * good after one EMFILE. So this server accepts with `Deno.listen` and:
 *
 * - survives accept errors (EMFILE and the like): it closes the connection that has
 *   waited longest on its client, freeing a descriptor, and retries; with none to close
 *   it backs off from 10 ms up to 1 s (a tight retry spins a core), the connection
 *   waiting in the kernel's queue meanwhile. It logs at most once per 10 s;
 * - holds at most `maxConnections`; at the cap it closes the connection that has waited
 *   longest on its client (no full head yet, idle keep-alive, slow body, slow reader),
 *   so a new client (Aurora's health check) is served even while the slots are full of
 *   idle or slowloris connections;
 * - closes a connection whose client misses a deadline (see {@linkcode HttpLimits});
 * - answers a malformed request with 400 and no log line (counted instead).
 *
 * @module
 */

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { LogThrottle } from "./log_throttle.ts";
import {
  type ConnectionEvents,
  type HttpHandler,
  type HttpLimits,
  serveConnection,
  Slot,
} from "./http_connection.ts";

export type { HttpHandler, HttpLimits };

/** The limits documented in docs/operations.md (management port). */
export const DEFAULT_LIMITS: HttpLimits = {
  headersTimeoutMs: 5_000,
  bodyTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  writeTimeoutMs: 10_000,
  maxConnections: 64,
  maxHeaderBytes: 16 * 1024,
  maxBodyBytes: 64 * 1024,
  maxRequestsPerConnection: 1000,
};

/** How long `close()` lets answers being produced or written finish. */
const CLOSE_GRACE_MS = 2_000;

const M = {
  open: ["management_connections", "Management connections open now."],
  acceptErrors: [
    "management_accept_errors_total",
    "Accepts on the management port that failed (e.g. too many open files).",
  ],
  evicted: [
    "management_connections_evicted_total",
    "Management connections closed at the cap to make room: the longest-waiting one.",
  ],
  refused: [
    "management_connections_refused_total",
    "Management connections closed at once: the cap was full of requests being handled.",
  ],
  timedOut: [
    "management_connections_timed_out_total",
    "Management connections closed because their client missed a deadline.",
  ],
  bad: ["management_bad_requests_total", "Malformed management requests, by status answered."],
  failed: ["management_request_errors_total", "Management requests whose handler failed (500)."],
} as const;

/**
 * Resolves when `p` settles or `ms` have passed, whichever is first (`p` undefined: after
 * `ms`), leaving no timer behind: a pending one would keep the process from exiting.
 */
async function within(clock: Clock, p: Promise<unknown> | undefined, ms: number): Promise<void> {
  let id: TimerId | undefined;
  const timeout = new Promise<void>((r) => (id = clock.setTimeout(r, ms)));
  try {
    await (p ? Promise.race([p, timeout]) : timeout);
  } finally {
    if (id !== undefined) clock.clearTimeout(id);
  }
}

export interface HttpServerOptions {
  readonly hostname: string;
  readonly port: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly limits?: HttpLimits;
  readonly clock?: Clock;
}

/** A listening server. */
export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting, closes idle connections, lets answers in progress finish briefly. */
  close(): Promise<void>;
}

/**
 * Listens on `hostname:port` (throws when it cannot, e.g. the port is taken).
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const srv = startHttpServer(
 *   { hostname: "127.0.0.1", port: 0, logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") },
 *   (_req, peer) => Promise.resolve(new Response(`hello ${peer}`)),
 * );
 * const res = await fetch(`http://127.0.0.1:${srv.port}/`);
 * console.log(await res.text()); // "hello 127.0.0.1"
 * await srv.close();
 * ```
 */
export function startHttpServer(o: HttpServerOptions, handler: HttpHandler): HttpServer {
  const limits = o.limits ?? DEFAULT_LIMITS;
  const clock = o.clock ?? systemClock;
  const { logger, metrics } = o;
  const listener = Deno.listen({ hostname: o.hostname, port: o.port, transport: "tcp" });
  /** Open connections, each with the promise that settles once it is closed for good. */
  const slots = new Map<Slot, Promise<void>>();
  let closing = false;
  const acceptLog = new LogThrottle(clock, 10_000);
  const failLog = new LogThrottle(clock, 10_000);
  const gauge = () => metrics.set(M.open[0], M.open[1], slots.size);
  const events: ConnectionEvents = {
    timedOut: () => metrics.inc(M.timedOut[0], M.timedOut[1]),
    badRequest: (status) => metrics.inc(M.bad[0], M.bad[1], { status: String(status) }),
    handlerFailed: (req, err) => {
      metrics.inc(M.failed[0], M.failed[1]);
      const n = failLog.take();
      if (n !== undefined) {
        const more = n ? ` (${n} more since the last line)` : "";
        logger.error(
          `management request ${req.method} ${new URL(req.url).pathname} failed${more}`,
          err,
        );
      }
    },
  };

  /**
   * Closes the connection waiting longest on its client, if any is; the promise settles
   * once it is gone for good (its descriptor is released when its pending read ends).
   */
  const evict = (): Promise<void> | undefined => {
    let victim: Slot | undefined;
    for (const s of slots.keys()) {
      if (s.phase !== "handling" && (!victim || s.since < victim.since)) victim = s;
    }
    if (!victim) return undefined;
    metrics.inc(M.evicted[0], M.evicted[1]);
    const gone = slots.get(victim);
    victim.close();
    slots.delete(victim);
    return gone;
  };

  const serve = (conn: Deno.Conn) => {
    if (slots.size >= limits.maxConnections && !evict()) {
      metrics.inc(M.refused[0], M.refused[1]);
      try {
        conn.close();
      } catch {
        // Gone already.
      }
      return;
    }
    const slot = new Slot(conn, clock);
    const p = serveConnection(slot, handler, limits, events, () => closing)
      // A cut connection (deadline, eviction, reset) ends here: nothing to report.
      .catch(() => {})
      .finally(() => {
        if (slot.timedOut) events.timedOut();
        slot.close();
        slots.delete(slot);
        gauge();
      });
    slots.set(slot, p);
    gauge();
  };

  const accepting = (async () => {
    let backoffMs = 10;
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoffMs = 10;
      } catch (err) {
        if (closing || err instanceof Deno.errors.BadResource) return;
        metrics.inc(M.acceptErrors[0], M.acceptErrors[1]);
        // Out of descriptors, most likely: closing the connection waiting longest frees
        // one, so the client queued behind it (Aurora's health check) is still served.
        const gone = evict();
        const n = acceptLog.take();
        if (n !== undefined) {
          const more = n ? ` (${n} more since the last line)` : "";
          const then = gone
            ? "closed the longest-waiting connection"
            : `retrying in ${backoffMs} ms`;
          logger.warn(`management port: accept failed, ${then}${more}`, err);
        }
        if (gone) {
          // Retry once its descriptor is free: at once, the accept would fail again and
          // close one connection after another, the newest (a health check) included.
          await within(clock, gone, 100);
        } else {
          await within(clock, undefined, backoffMs);
          backoffMs = Math.min(backoffMs * 2, 1000);
        }
        continue;
      }
      serve(conn);
    }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    close: async () => {
      if (closing) return;
      closing = true;
      listener.close();
      await accepting;
      for (const s of slots.keys()) if (s.phase === "waiting") s.close();
      await within(clock, Promise.all(slots.values()), CLOSE_GRACE_MS);
      const left = [...slots.values()];
      for (const s of slots.keys()) s.close();
      await Promise.all(left);
    },
  };
}
