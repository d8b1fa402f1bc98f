/**
 * Real HTTP backends on loopback for integration tests: each answers with its own name
 * (so a test can see who served a request), counts requests, and can be switched to
 * fail health checks or stop listening.
 *
 * @module
 */

import { freePort } from "./ports.ts";

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  /** Requests served, by path. */
  readonly hits: Map<string, number>;
  /** Total requests served. */
  total(): number;
  /** Status answered on `healthPath` (default 200). */
  healthStatus: number;
  /** Stops listening (connections are refused afterwards). */
  close(): Promise<void>;
}

export interface TestBackendOptions {
  name: string;
  port?: number;
  /** Path that answers `healthStatus` instead of the name. Default `/health`. */
  healthPath?: string;
}

/**
 * Starts a backend answering `200 <name>` on every path (and `healthStatus` on the health path).
 *
 * @example
 * ```ts
 * const b = await startBackend({ name: "a" });
 * await (await fetch(`http://127.0.0.1:${b.port}/x`)).text(); // "a"
 * await b.close();
 * ```
 */
export function startBackend(opts: TestBackendOptions): Promise<TestBackend> {
  const port = opts.port ?? freePort();
  const healthPath = opts.healthPath ?? "/health";
  const hits = new Map<string, number>();
  const ac = new AbortController();
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const backend: TestBackend = {
    name: opts.name,
    port,
    hits,
    healthStatus: 200,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: async () => {
      ac.abort();
      // Graceful shutdown waits for open connections; never let a test hang on one.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.finished,
        new Promise((r) => (timer = setTimeout(r, 3000))),
      ]);
      clearTimeout(timer);
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => listening() },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path === healthPath) {
        return new Response(backend.healthStatus === 200 ? "ok" : "unhealthy", {
          status: backend.healthStatus,
        });
      }
      hits.set(path, (hits.get(path) ?? 0) + 1);
      return new Response(opts.name, {
        headers: { "x-backend": opts.name, "x-host": req.headers.get("host") ?? "" },
      });
    },
  );
  return ready.then(() => backend);
}
