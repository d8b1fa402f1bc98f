/**
 * A TCP relay between aurproxy and a server, with two ways to cut the network:
 *
 * - `pause()`, a cut the client hears about: existing connections are closed, new ones are
 *   accepted but never answered (until `resume()` drops them, so clients retry).
 * - `blackhole()`, a silent cut (a partition, a dead switch): bytes stop flowing both ways
 *   but every connection stays open, and new ones are accepted but never reach the server.
 *   Nothing is lost: on `resume()` what was sent meanwhile flows, as TCP delivers it once a
 *   partition heals, and connections accepted meanwhile are connected to the server.
 *
 * Used to make ZooKeeper clients lose connections and sessions on purpose.
 *
 * @module
 */

import { freePort } from "./ports.ts";

export interface TcpRelay {
  readonly port: number;
  /**
   * Client connections open now (relayed or held). A client closing its socket leaves it,
   * except during a black hole, where the close (like everything else) is held.
   */
  readonly connections: number;
  /** Client connections accepted so far (each connection attempt of a client counts). */
  readonly accepted: number;
  /** Cuts the network: drops every connection; new ones are accepted, read and ignored. */
  pause(): void;
  /** Cuts the network silently: nothing flows, nothing is closed. */
  blackhole(): void;
  /** Restores forwarding (see the module doc for what happens to held connections). */
  resume(): void;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const relay = startTcpRelay(zk.port); // clients connect to 127.0.0.1:relay.port
 * relay.blackhole(); // the client must notice by itself that nothing comes back
 * relay.resume();
 * await relay.close();
 * ```
 */
export function startTcpRelay(targetPort: number): TcpRelay {
  const port = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  let mode: "forward" | "paused" | "blackhole" = "forward";
  // A function, so that checks after an `await` see the mode of now.
  const paused = () => mode === "paused";
  let closed = false;
  let accepted = 0;
  // Resolved while bytes may flow; a black hole replaces it with a pending promise.
  let flowing: Promise<void> = Promise.resolve();
  let heal = () => {};
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
        // In a black hole a chunk, or the end of the stream, waits here, and nothing more
        // is read meanwhile.
        await flowing;
        if (n === null || closed || paused()) break;
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
  const hold = (client: Deno.Conn) =>
    track((async () => {
      // Held open and never answered; read only to notice the client closing it.
      const buf = new Uint8Array(4096);
      try {
        while ((await client.read(buf)) !== null);
      } catch {
        // Dropped by resume() or close().
      }
      closeConn(client);
    })());
  const accepting = (async () => {
    for await (const client of listener) {
      accepted++;
      open.add(client);
      clients.add(client);
      if (paused()) {
        hold(client);
        continue;
      }
      track((async () => {
        // Accepted during a black hole: the server hears of it once the network heals.
        await flowing;
        if (closed || paused() || !clients.has(client)) return closeConn(client);
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
  const unblock = () => {
    heal();
    flowing = Promise.resolve();
  };
  return {
    port,
    get connections() {
      return clients.size;
    },
    get accepted() {
      return accepted;
    },
    pause: () => {
      if (mode === "blackhole") unblock();
      mode = "paused";
      for (const c of [...open]) closeConn(c);
    },
    blackhole: () => {
      if (mode === "blackhole") return;
      if (mode === "paused") { for (const c of [...open]) closeConn(c); }
      mode = "blackhole";
      flowing = new Promise((r) => (heal = r));
    },
    resume: () => {
      const was = mode;
      mode = "forward";
      if (was === "paused") { for (const c of [...open]) closeConn(c); }
      if (was === "blackhole") unblock();
    },
    close: async () => {
      closed = true;
      listener.close();
      for (const c of [...open]) closeConn(c);
      unblock();
      await accepting;
      await Promise.all([...tasks]);
    },
  };
}
