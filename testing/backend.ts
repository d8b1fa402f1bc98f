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

/** A raw HTTP/1.1 server that can stop accepting while still serving what it accepted. */
export interface KeepAliveBackend {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now (accepted and not yet closed by either side). */
  readonly open: number;
  /** Request lines received, in order. */
  readonly requests: string[];
  /** Closes the listener only: new connections are refused, open ones still answered. */
  stopAccepting(): void;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

export interface KeepAliveBackendOptions {
  /**
   * Closes a connection left idle this long after an answer, as servers' keep-alive
   * timeouts do (5 s in Node). Default: never.
   */
  idleTimeoutMs?: number;
}

/**
 * Starts a backend answering `200 ok` to every request on kept-alive connections, and
 * closing a connection only when the request says `Connection: close` (or, with
 * `idleTimeoutMs`, when it stays idle after an answer). `stopAccepting`
 * models a server whose listening socket is gone (a botched restart, a dead accept loop)
 * but whose old connections live on: what nginx sees is a refused connection.
 *
 * @example
 * ```ts
 * const b = startKeepAliveBackend();
 * b.stopAccepting(); // new connections refused, kept-alive ones still served
 * await b.close();
 * ```
 */
export function startKeepAliveBackend(opts: KeepAliveBackendOptions = {}): KeepAliveBackend {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const served: Promise<void>[] = [];
  let connections = 0;
  let listening = true;
  const requests: string[] = [];
  const serve = async (conn: Deno.Conn) => {
    const buf = new Uint8Array(4096);
    let pending = "";
    let answered = false;
    try {
      for (;;) {
        // Closing the connection ends the pending read; the timer never outlives it.
        const idle = answered && opts.idleTimeoutMs !== undefined
          ? setTimeout(() => conn.close(), opts.idleTimeoutMs)
          : undefined;
        let n: number | null;
        try {
          n = await conn.read(buf);
        } finally {
          clearTimeout(idle);
        }
        if (n === null) break;
        pending += new TextDecoder().decode(buf.subarray(0, n));
        let end: number;
        let close = false;
        while ((end = pending.indexOf("\r\n\r\n")) >= 0) {
          const head = pending.slice(0, end);
          pending = pending.slice(end + 4);
          requests.push(head.split("\r\n")[0]);
          close = /\r\nconnection:\s*close/i.test(head);
          await conn.write(new TextEncoder().encode(
            `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${close ? "Connection: close\r\n" : ""}\r\nok`,
          ));
          answered = true;
          if (close) break;
        }
        if (close) break;
      }
    } catch {
      // Closed by the test.
    }
    conns.delete(conn);
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        connections++;
        conns.add(conn);
        served.push(serve(conn));
      }
    } catch {
      // The listener was closed.
    }
  })();
  const stopAccepting = () => {
    if (!listening) return;
    listening = false;
    listener.close();
  };
  return {
    port,
    get connections() {
      return connections;
    },
    get open() {
      return conns.size;
    },
    requests,
    stopAccepting,
    close: async () => {
      stopAccepting();
      await accepting;
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Already closed.
        }
      }
      await Promise.all(served);
    },
  };
}

/** A listener that answers no SYN: see {@linkcode startUnansweredListener}. */
export interface UnansweredListener {
  readonly port: number;
  close(): void;
}

/**
 * A real listener that never accepts, with its accept queue filled by connections of our
 * own: the kernel then drops new SYNs, so a connection attempt hangs as it does towards
 * an overloaded or hung server or a black-holed address (until the kernel gives up, ~2
 * min later). Costs a few hundred file descriptors until `close`.
 *
 * @example
 * ```ts
 * const l = await startUnansweredListener();
 * await Deno.connect({ hostname: "127.0.0.1", port: l.port }); // hangs
 * l.close();
 * ```
 */
export async function startUnansweredListener(): Promise<UnansweredListener> {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const fillers: Deno.Conn[] = [];
  const close = () => {
    for (const c of fillers) c.close();
    listener.close();
  };
  try {
    // The queue is full once some attempts of a batch get no answer within 200 ms.
    for (let full = false; !full;) {
      if (fillers.length > 65_536) throw new Error("the accept queue never filled up");
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 200);
      const batch = await Promise.allSettled(
        Array.from(
          { length: 64 },
          () => Deno.connect({ hostname: "127.0.0.1", port, signal: ac.signal }),
        ),
      );
      clearTimeout(timer);
      for (const r of batch) {
        if (r.status === "fulfilled") fillers.push(r.value);
        else if (ac.signal.aborted) full = true;
        else throw r.reason;
      }
    }
  } catch (err) {
    close();
    throw err;
  }
  return { port, close };
}
