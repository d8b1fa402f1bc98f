import { deepStrictEqual, strictEqual } from "node:assert";
import { forwardLines, TRUNCATED_MARK } from "../../lib/process/lines.ts";
import { backoffDelay, DEFAULT_BACKOFF, nextFailureCount } from "../../lib/process/backoff.ts";
import { describeExit } from "../../lib/process/exit.ts";

const enc = new TextEncoder();

/** A stream delivering `chunks` exactly as given, so line splits across reads are tested. */
function chunked(...chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? enc.encode(c) : c));
}

async function lines(stream: ReadableStream<Uint8Array>, maxLineBytes?: number) {
  const out: string[] = [];
  await forwardLines(stream, (l) => out.push(l), { maxLineBytes });
  return out;
}

Deno.test("forwardLines: lines split across reads, CRLF, empty lines and a last line without newline", async () => {
  deepStrictEqual(
    await lines(chunked("one\ntw", "o\r\n", "\nthr", "ee")),
    ["one", "two", "", "three"],
  );
  deepStrictEqual(await lines(chunked()), []);
});

Deno.test("forwardLines: a long line is cut once at the bound and its rest skipped, also across reads", async () => {
  deepStrictEqual(await lines(chunked("abcdefghij\nok\n"), 4), [`abcd${TRUNCATED_MARK}`, "ok"]);
  deepStrictEqual(
    await lines(chunked("abc", "def", "ghi", "jkl\nok"), 4),
    [`abcd${TRUNCATED_MARK}`, "ok"],
  );
  // Exactly the bound, its newline in the next read: whole, not cut.
  deepStrictEqual(await lines(chunked("abcd", "\nef\n"), 4), ["abcd", "ef"]);
});

Deno.test("forwardLines: a cut never splits a UTF-8 character", async () => {
  // "é" is two bytes: a cut at 4 bytes would fall inside the second one.
  deepStrictEqual(await lines(chunked("aéé€\n"), 4), [`aé${TRUNCATED_MARK}`]);
  deepStrictEqual(await lines(chunked("€€\n"), 4), [`€${TRUNCATED_MARK}`]);
  // Bytes of one character spread over reads still decode.
  const euro = enc.encode("€\n");
  deepStrictEqual(await lines(chunked(euro.slice(0, 1), euro.slice(1))), ["€"]);
});

Deno.test("forwardLines: an abort stops reading a stream that never ends", async () => {
  const ctl = new AbortController();
  let pulls = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull: async (c) => {
      pulls++;
      await new Promise((r) => setTimeout(r, 1));
      c.enqueue(enc.encode("tick\n"));
    },
  });
  const out: string[] = [];
  const done = forwardLines(endless, (l) => out.push(l), { signal: ctl.signal });
  while (out.length < 3) await new Promise((r) => setTimeout(r, 1));
  ctl.abort();
  await done;
  strictEqual(out.every((l) => l === "tick"), true);
  const after = pulls;
  await new Promise((r) => setTimeout(r, 10));
  strictEqual(pulls, after, "nothing read after the abort");
});

Deno.test("backoff: doubles from the initial delay, caps, and starts over after a healthy run", () => {
  const p = { initialMs: 100, maxMs: 1_000, factor: 2, resetAfterMs: 5_000 };
  deepStrictEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(p, n)), [
    100,
    200,
    400,
    800,
    1_000,
    1_000,
  ]);
  strictEqual(backoffDelay(p, 10_000), 1_000, "no overflow past the cap");
  strictEqual(nextFailureCount(p, 0, 0), 1);
  strictEqual(nextFailureCount(p, 4, 4_999), 5);
  strictEqual(nextFailureCount(p, 4, 5_000), 1);
  strictEqual(backoffDelay(DEFAULT_BACKOFF, 1), 500);
});

Deno.test("describeExit: code, signal, failed start, and what happens next", () => {
  const base = { name: "nginx", pid: 42, at: 0, uptimeMs: 1_500, requested: false };
  strictEqual(
    describeExit({ ...base, code: 1, signal: null, restartInMs: 500 }),
    "pid 42 exited with code 1 after 1.5 s; restarting in 0.5 s",
  );
  strictEqual(
    describeExit({ ...base, code: 143, signal: "SIGTERM", requested: true }),
    "pid 42 was killed by SIGTERM after 1.5 s (stopped)",
  );
  strictEqual(
    describeExit({
      name: "gor",
      code: null,
      signal: null,
      uptimeMs: 0,
      at: 0,
      requested: false,
      error: "Failed to spawn 'gor': No such file or directory (os error 2)",
      restartInMs: 1_000,
    }),
    "could not be started: Failed to spawn 'gor': No such file or directory (os error 2); restarting in 1 s",
  );
});
