/**
 * Sentry through the real SDK: an uncaught exception or unhandled rejection is sent (the
 * envelope parsed by a local receiver), then the process exits 1 as Deno would; with Sentry
 * hanging, the exit waits at most the 2 s flush.
 */
import { strictEqual } from "node:assert";
import { startSentryReceiver } from "../../testing/receivers.ts";

const SCRIPT = new URL("../../testing/sentry_crash.ts", import.meta.url).pathname;

async function dieWith(dsn: string, kind: string) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", SCRIPT, dsn, kind],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - t0,
  };
}

Deno.test("sentry: an uncaught exception and an unhandled rejection reach Sentry before exit 1", async () => {
  const sentry = startSentryReceiver();
  try {
    for (
      const [kind, message] of [["error", "boom from a timer"], [
        "rejection",
        "boom from a promise",
      ]]
    ) {
      const r = await dieWith(sentry.dsn, kind);
      strictEqual(r.code, 1, r.stderr);
      strictEqual(r.stderr.includes(`aurproxy: uncaught Error: ${message}`), true, r.stderr);
      const event = sentry.events().find((e) => JSON.stringify(e).includes(message));
      strictEqual(event !== undefined, true, `no event for ${kind}: ${sentry.bad.join("\n")}`);
      strictEqual(event!.level, "fatal");
      strictEqual(event!.release, "aurproxy@9.9.9-test");
      strictEqual(event!.environment, "test");
      const ex =
        (event!.exception as { values: { value: string; mechanism: { handled: boolean } }[] })
          .values[0];
      strictEqual(ex.value, message);
      strictEqual(ex.mechanism.handled, false);
    }
    strictEqual(sentry.bad.length, 0, sentry.bad.join("\n"));
  } finally {
    await sentry.close();
  }
});

Deno.test("sentry: a hanging Sentry delays the exit by at most the 2 s flush", async () => {
  const sentry = startSentryReceiver();
  sentry.mode = "hang";
  try {
    const r = await dieWith(sentry.dsn, "error");
    strictEqual(r.code, 1, r.stderr);
    strictEqual(sentry.requests >= 1, true, "the SDK tried");
    strictEqual(r.ms < 2000 + 3000, true, `exit after ${r.ms} ms`);
  } finally {
    await sentry.close();
  }
});
