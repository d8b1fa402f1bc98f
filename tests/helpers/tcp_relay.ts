/**
 * A TCP relay between aurproxy and a server, with a switch that cuts the network: while
 * paused, existing connections are dropped and new ones are accepted but never answered,
 * as a partition looks to a client. Used to expire ZooKeeper sessions on purpose.
 *
 * @module
 */

import { freePort } from "./ports.ts";

export interface TcpRelay {
  readonly port: number;
  /** Client connections open now (relayed or held); a closed client socket leaves it. */
  readonly connections: number;
  /** Cuts the network: drops every connection; new ones are accepted, read and ignored. */
  pause(): void;
  /** Restores forwarding for new connections (held ones are dropped, so clients retry). */
  resume(): void;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const relay = startTcpRelay(zk.port); // clients connect to 127.0.0.1:relay.port
 * relay.pause(); // partition: the ZooKeeper session will expire
 * relay.resume();
 * await relay.close();
 * ```
 */
export function startTcpRelay(targetPort: number): TcpRelay {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let paused = false;
  const open = new Set<Deno.Conn>();
  const clients = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const closeConn = (c: Deno.Conn) => {
    open.delete(c);
    clients.delete(c);
    try {
      c.close();
    } catch {
      // Already closed.
    }
  };
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null || paused) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // Either side went away.
    }
    closeConn(from);
    closeConn(to);
  };
  const track = (p: Promise<void>) => {
    tasks.add(p);
    p.finally(() => tasks.delete(p));
  };
  const accepting = (async () => {
    for await (const client of listener) {
      open.add(client);
      clients.add(client);
      if (paused) {
        // Held open and never answered; read only to notice the client closing it.
        track((async () => {
          const buf = new Uint8Array(4096);
          try {
            while ((await client.read(buf)) !== null);
          } catch {
            // Dropped by resume() or close().
          }
          closeConn(client);
        })());
        continue;
      }
      track((async () => {
        let server: Deno.Conn;
        try {
          server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
        } catch {
          closeConn(client);
          return;
        }
        open.add(server);
        await Promise.all([pipe(client, server), pipe(server, client)]);
      })());
    }
  })().catch(() => {});
  return {
    port,
    get connections() {
      return clients.size;
    },
    pause: () => {
      paused = true;
      for (const c of [...open]) closeConn(c);
    },
    resume: () => {
      paused = false;
      for (const c of [...open]) closeConn(c);
    },
    close: async () => {
      listener.close();
      for (const c of [...open]) closeConn(c);
      await accepting;
      await Promise.all([...tasks]);
    },
  };
}
