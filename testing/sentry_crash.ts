/**
 * A program that dies of an uncaught exception with Sentry on, as `aurproxy` would: for
 * the test that the event reaches Sentry (level fatal, unhandled, with the release) before
 * the process exits 1, and that an unreachable Sentry delays the exit by at most 2 s.
 *
 * Usage: `deno run -A testing/sentry_crash.ts <dsn> <error|rejection>`
 *
 * @module
 */

import { reportUncaught, sentryDsn, startSentry } from "../lib/observability/sentry.ts";

const [dsn, kind] = Deno.args;
const reporter = await startSentry({
  dsn: sentryDsn(dsn)!,
  version: "9.9.9-test",
  environment: "test",
});
reportUncaught(reporter);
setTimeout(() => {
  if (kind === "rejection") void Promise.reject(new Error("boom from a promise"));
  else throw new Error("boom from a timer");
}, 10);
