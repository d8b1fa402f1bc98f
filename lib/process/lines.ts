/**
 * Splitting a child's output stream into log lines. The stream is read as fast as the
 * child writes, whatever the lines look like: a child blocked on a full pipe would stall
 * (nginx's master stops handling signals while its error-log write blocks). A line longer
 * than the bound is cut, and the rest of it is dropped, so memory stays bounded too.
 *
 * @module
 */

/** Default bound on one forwarded line, in bytes. */
export const DEFAULT_MAX_LINE_BYTES = 4096;

/** Appended to a line that was cut at the bound. */
export const TRUNCATED_MARK = " …[truncated]";

/** Options of {@linkcode forwardLines}. */
export interface ForwardLinesOptions {
  /** Bound on one line in bytes; default {@linkcode DEFAULT_MAX_LINE_BYTES}. */
  readonly maxLineBytes?: number;
  /**
   * Stops reading when aborted (the stream is cancelled). For a pipe that a stray
   * grandchild keeps open after the child itself exited.
   */
  readonly signal?: AbortSignal;
}

/**
 * Reads `stream` to its end (or until `options.signal` aborts), calling `emit` with each
 * line (without its `\n` or `\r\n`). A last line without a newline is emitted at the end.
 * A line over `maxLineBytes` is emitted once, cut at a character boundary and marked with
 * {@linkcode TRUNCATED_MARK}; its remainder up to the next newline is skipped.
 *
 * @example
 * ```ts
 * import { forwardLines } from "./lines.ts";
 * const child = new Deno.Command("sh", { args: ["-c", "echo a >&2; echo b >&2"], stderr: "piped" })
 *   .spawn();
 * await forwardLines(child.stderr, (line) => console.log("child:", line));
 * await child.status;
 * ```
 */
export async function forwardLines(
  stream: ReadableStream<Uint8Array>,
  emit: (line: string) => void,
  options: ForwardLinesOptions = {},
): Promise<void> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const reader = stream.getReader();
  const abort = () => void reader.cancel().catch(() => {});
  if (options.signal?.aborted) abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  try {
    await split(reader, emit, maxLineBytes);
  } finally {
    options.signal?.removeEventListener("abort", abort);
    reader.releaseLock();
  }
}

async function split(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  emit: (line: string) => void,
  maxLineBytes: number,
): Promise<void> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(maxLineBytes);
  let len = 0;
  let skipping = false;
  const flush = (cut: boolean) => {
    let end = len;
    if (cut) end = charBoundary(buf, len);
    else if (end > 0 && buf[end - 1] === 0x0d) end--;
    emit(decoder.decode(buf.subarray(0, end)) + (cut ? TRUNCATED_MARK : ""));
    len = 0;
  };
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(0x0a, i);
      const stop = nl === -1 ? chunk.length : nl;
      if (!skipping) {
        const take = Math.min(stop - i, maxLineBytes - len);
        buf.set(chunk.subarray(i, i + take), len);
        len += take;
        // Cut only when a byte beyond the bound is seen: a line of exactly the bound
        // whose newline arrives in the next chunk is whole.
        if (len === maxLineBytes && i + take < stop) {
          flush(true);
          skipping = true;
        }
      }
      if (nl === -1) break;
      if (skipping) skipping = false;
      else flush(false);
      i = nl + 1;
    }
  }
  if (len > 0) flush(false);
}

/**
 * The largest end ≤ `len` that does not split a UTF-8 sequence, so a cut line decodes
 * without a replacement character at its end.
 */
function charBoundary(buf: Uint8Array, len: number): number {
  let start = len;
  // Back up over at most three continuation bytes (10xxxxxx) to the sequence's lead byte.
  while (start > 0 && len - start < 3 && (buf[start - 1] & 0xc0) === 0x80) start--;
  if (start === 0) return len;
  const lead = buf[start - 1];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return len - (start - 1) >= need ? len : start - 1;
}
