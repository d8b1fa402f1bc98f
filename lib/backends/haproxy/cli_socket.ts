/**
 * Talking to an HAProxy UNIX socket (a stats socket or the master CLI): one connection per
 * exchange, every exchange bounded by a timeout. HAProxy answers a non-interactive
 * connection and closes it; the master CLI answers only once the request side is closed,
 * so the write side is always shut after the request.
 *
 * Several commands go in one exchange in HAProxy's interactive mode (`prompt`): each
 * command's answer, including each of a `;`-separated line, is followed by the prompt, so
 * the answers can be told apart even for commands whose answer lacks the usual trailing
 * blank line (`del server` in 2.6).
 *
 * Deno 2.9 permissions for a UNIX socket: `--allow-read` and `--allow-write` of its path
 * and `--allow-net` (`unix:<path>`); aurproxy's entry points run with `-A`.
 *
 * @module
 */

import { RuntimeApiError } from "./runtime_error.ts";

/** Default bound of one exchange, connect included. */
export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * Sends `request` (one or more lines, each ending in `\n`) to the socket at `path`, shuts
 * the write side and returns everything HAProxy writes until it closes. Throws
 * {@linkcode RuntimeApiError} (`connect`, `timeout`, `io`) naming `label`.
 *
 * @example
 * ```ts ignore
 * await exchange("/run/haproxy/admin.sock", "show info\n", "show info");
 * ```
 */
export async function exchange(
  path: string,
  request: string,
  label: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string> {
  let timedOut = false;
  let conn: Deno.UnixConn | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        conn?.close();
      } catch {
        // Already closed.
      }
      reject(new RuntimeApiError("timeout", path, label, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const talk = async (): Promise<string> => {
    try {
      conn = await Deno.connect({ transport: "unix", path });
    } catch (err) {
      throw new RuntimeApiError("connect", path, label, (err as Error).message);
    }
    if (timedOut) conn.close();
    try {
      await writeAll(conn, new TextEncoder().encode(request));
      await conn.closeWrite();
      return await readAll(conn);
    } catch (err) {
      throw new RuntimeApiError("io", path, label, (err as Error).message);
    } finally {
      try {
        conn.close();
      } catch {
        // Closed by the timer.
      }
    }
  };
  const talking = talk();
  // The losing side's rejection is handled here, never left unhandled.
  talking.catch(() => {});
  try {
    return await Promise.race([talking, deadline]);
  } finally {
    clearTimeout(timer);
    deadline.catch(() => {});
  }
}

/**
 * The request that runs `commands` in interactive mode and leaves: `prompt`, the commands
 * one a line, `quit`.
 *
 * @example
 * ```ts
 * promptRequest(["set server b/s1 weight 3", "set server b/s2 weight 4"]);
 * // "prompt\nset server b/s1 weight 3\nset server b/s2 weight 4\nquit\n"
 * ```
 */
export function promptRequest(commands: readonly string[]): string {
  return ["prompt", ...commands, "quit"].join("\n") + "\n";
}

/**
 * Splits what a stats socket answered to {@linkcode promptRequest} into one answer per
 * command (`count` of them, `;`-separated ones counted one by one), each trimmed. Returns
 * undefined when fewer answers arrived than commands were sent (HAProxy stopped early).
 *
 * @example
 * ```ts
 * // Captured from HAProxy 2.6 for ["set server b/s1 weight 7", "set server b/zz weight 7"]:
 * splitPromptReplies("\n> \n> No such server.\n\n> ", 2); // ["", "No such server."]
 * ```
 */
export function splitPromptReplies(text: string, count: number): string[] | undefined {
  // `prompt` answers with the first prompt; each command's answer ends with the next one;
  // `quit` answers nothing.
  const parts = text.split("\n> ");
  if (parts.length < count + 2) return undefined;
  return parts.slice(1, count + 1).map((p) => p.trim());
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

async function readAll(conn: Deno.Conn): Promise<string> {
  const dec = new TextDecoder();
  const buf = new Uint8Array(65536);
  let out = "";
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return out + dec.decode();
    out += dec.decode(buf.subarray(0, n), { stream: true });
  }
}
