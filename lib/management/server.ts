/**
 * The management port: Aurora lifecycle (`/health`, `/quitquitquit`, `/abortabortabort`),
 * metrics (`/metrics` Prometheus text, `/metrics.json`), the desired proxy state
 * (`/status.json`, `/status` as a page) and extra routes mounted by features (the API
 * source). All handlers read state through the functions passed in; none holds any.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import { combineHealth, healthBody } from "./health.ts";
import { renderStatusPage } from "./status_page.ts";
import type { HealthProbe } from "../model/health.ts";

/** A feature's routes: return a Response to handle the request, or undefined to pass. */
export type RouteHandler = (req: Request, url: URL) => Response | Promise<Response> | undefined;

export interface ManagementOptions {
  readonly hostname: string;
  readonly port: number;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  readonly health: readonly HealthProbe[];
  /** The latest snapshot, or undefined before the first one. */
  readonly snapshot: () => ProxySnapshot | undefined;
  /** Runs the shutdown handlers; `abort` is true for /abortabortabort. */
  readonly shutdown: (reason: string, abort: boolean) => void;
  /** Called before each metrics scrape so gauges are fresh. */
  readonly refreshMetrics?: () => void;
  readonly routes?: readonly RouteHandler[];
}

const text = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });

/** Builds the request handler (separate from listening, so tests can call it directly). */
export function managementHandler(
  o: ManagementOptions,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case "GET /health":
      case "HEAD /health": {
        const h = combineHealth(o.health);
        const headers: Record<string, string> = { "x-aurproxy-health": h.level };
        if (h.level !== "ok") headers["x-aurproxy-health-detail"] = oneLine(h.lines.join("; "));
        return text(healthBody(h), 200, headers);
      }
      case "GET /health/details": {
        const h = combineHealth(o.health);
        return text(`${h.level.toUpperCase()}\n${h.lines.join("\n")}\n`);
      }
      case "POST /quitquitquit":
      case "POST /abortabortabort": {
        const abort = url.pathname === "/abortabortabort";
        // Answer first; the shutdown handlers run after the response is on its way.
        setTimeout(() => o.shutdown(url.pathname.slice(1), abort), 0);
        return text("OK");
      }
      case "GET /quitquitquit":
      case "GET /abortabortabort":
        return text("use POST\n", 405, { allow: "POST" });
      case "GET /metrics":
        o.refreshMetrics?.();
        return text(o.metrics.prometheus(), 200, {
          "content-type": "text/plain; version=0.0.4; charset=utf-8",
        });
      case "GET /metrics.json":
        o.refreshMetrics?.();
        return json(
          Object.fromEntries(
            o.metrics.samples().map((s) => [sampleName(s.name, s.labels), s.value]),
          ),
        );
      case "GET /status.json": {
        const snap = o.snapshot();
        return snap ? json(snap) : json({ error: "no snapshot yet" }, 503);
      }
      case "GET /status":
      case "GET /": {
        const snap = o.snapshot();
        return new Response(renderStatusPage(snap, combineHealth(o.health)), {
          headers: { "content-type": "text/html; charset=utf-8" },
        });
      }
    }
    for (const r of o.routes ?? []) {
      const res = await r(req, url);
      if (res) return res;
    }
    return text("not found\n", 404);
  };
}

function oneLine(s: string): string {
  // Header values cannot carry newlines or non-ASCII safely.
  return s.replace(/[^\x20-\x7e]/g, " ").slice(0, 1000);
}

function sampleName(name: string, labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length ? `${name}{${keys.map((k) => `${k}=${labels[k]}`).join(",")}}` : name;
}

/** A running management server. */
export interface ManagementServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on `hostname:port`.
 *
 * @example
 * ```ts
 * const srv = startManagementServer({ hostname: "127.0.0.1", port: 31325, ... });
 * await srv.close();
 * ```
 */
export function startManagementServer(o: ManagementOptions): Promise<ManagementServer> {
  const handler = managementHandler(o);
  const ac = new AbortController();
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: o.hostname,
        port: o.port,
        signal: ac.signal,
        onListen: (addr) => {
          o.logger.info(`management port listening on ${addr.hostname}:${addr.port}`);
          resolve({
            port: addr.port,
            close: async () => {
              ac.abort();
              await server.finished;
            },
          });
        },
        onError: (err) => {
          o.logger.error("management request failed", err);
          return text("internal error\n", 500);
        },
      }, handler);
    } catch (err) {
      reject(err);
    }
  });
}
