/**
 * One command (or several, `;`-separated) sent to an HAProxy UNIX socket, the stats socket
 * or the master CLI, in its non-interactive mode: HAProxy answers and closes.
 *
 * @module
 */

/** Raised when the socket cannot be reached or does not answer in time. */
export class SocketCommandError extends Error {
  override readonly name = "SocketCommandError";
}

/**
 * Sends `command` to the UNIX socket `path` and returns everything HAProxy answers.
 *
 * @example
 * ```ts ignore
 * const procs = await socketCommand("/run/haproxy-master.sock", "show proc");
 * ```
 */
export async function socketCommand(
  path: string,
  command: string,
  timeoutMs = 5000,
): Promise<string> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (err) {
    throw new SocketCommandError(`cannot connect to ${path}: ${(err as Error).message}`);
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    await writeAll(conn, new TextEncoder().encode(`${command}\n`));
    // The master CLI answers only once the request side is closed.
    await conn.closeWrite();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(concat(chunks));
  } catch (err) {
    throw new SocketCommandError(
      `${path} did not answer ${JSON.stringify(command.slice(0, 60))}: ${(err as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
