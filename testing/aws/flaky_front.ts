/**
 * A TCP front for the AWS stand-in that can hang up on clients: in `forward` mode it
 * relays bytes both ways; in `reset` mode it drops every open connection and closes each
 * new one as soon as its request arrives, without a byte of answer (a load balancer or
 * NAT in the way restarting, AWS closing a kept-alive connection). Point
 * `AWS_ENDPOINT_URL` at `url` instead of the stand-in's.
 *
 * @module
 */

/** A running front. */
export interface FlakyFront extends AsyncDisposable {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections hung up on (closed with their request unanswered). */
  readonly hungUp: number;
  /** `reset`: hang up on everything; `forward`: relay again. */
  mode(mode: "forward" | "reset"): void;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * await using front = startFlakyFront(new URL(aws.url).port);
 * front.mode("reset");
 * ```
 */
export function startFlakyFront(targetPort: number | string): FlakyFront {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let current: "forward" | "reset" = "forward";
  let accepted = 0;
  let hungUp = 0;
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const shut = (c: Deno.Conn) => {
    open.delete(c);
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
        if (n === null) break;
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // Either side went away.
    }
    shut(from);
    shut(to);
  };
  const serve = async (client: Deno.Conn) => {
    if (current === "reset") {
      // Wait for the request, so the client has sent it and hears nothing back.
      await client.read(new Uint8Array(64 * 1024)).catch(() => null);
      hungUp++;
      return shut(client);
    }
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: Number(targetPort) });
    } catch {
      return shut(client);
    }
    open.add(server);
    await Promise.all([pipe(client, server), pipe(server, client)]);
  };
  const accepting = (async () => {
    for await (const client of listener) {
      accepted++;
      open.add(client);
      const t = serve(client);
      tasks.add(t);
      t.finally(() => tasks.delete(t));
    }
  })().catch(() => {});
  const close = async () => {
    listener.close();
    for (const c of [...open]) shut(c);
    await accepting;
    await Promise.all([...tasks]);
  };
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    get accepted() {
      return accepted;
    },
    get hungUp() {
      return hungUp;
    },
    mode(m) {
      current = m;
      if (m === "reset") { for (const c of [...open]) shut(c); }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
