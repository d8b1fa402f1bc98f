/**
 * What every command gets before it runs: its logger (`--log-level`, `--log-format`) and,
 * with `--sentry-dsn`, error reporting (ERROR lines, uncaught exceptions, an error the
 * command ends with), flushed for at most 2 s before the command returns.
 *
 * @module
 */

import { UsageError, UsageErrors } from "../errors.ts";
import { consoleLogger, type LogFormat, type Logger } from "../log.ts";
import {
  type ErrorReporter,
  reportUncaught,
  sentryDsn,
  startSentry,
} from "../observability/sentry.ts";
import { VERSION } from "../version.ts";
import type { FlagTable, FlagValues } from "./flags.ts";
import { logLevel } from "./run_options.ts";

const FORMATS: readonly LogFormat[] = ["text", "json"];

/** How long events may take to reach Sentry at exit. */
export const SENTRY_FLUSH_MS = 2000;

/** Flags every command takes (merged into each command's table). */
export const OBSERVABILITY_FLAGS: FlagTable = {
  "sentry-dsn": {
    type: "string",
    help: "Sentry DSN: ERROR lines and uncaught exceptions are reported (empty: off; " +
      "the original's gevent+https://... spelling works). Environment: $SENTRY_ENVIRONMENT.",
  },
  "log-format": {
    type: "string",
    default: "text",
    help: "text, or json: one object a line (time, level, logger, message, fields).",
  },
};

/** `--log-format`, checked. */
export function logFormat(v: FlagValues): LogFormat {
  const f = (v["log-format"] ?? "text") as LogFormat;
  if (!FORMATS.includes(f)) {
    throw new UsageError("--log-format", `expected text or json, got ${JSON.stringify(f)}`);
  }
  return f;
}

/**
 * Runs `body` with the command's logger and, when configured, Sentry; resolves with its
 * exit code. Usage errors are not reported (they are the operator's, printed at once).
 *
 * @example
 * ```ts
 * await withObservability({ "log-format": "json", "log-level": "info" }, async (log) => {
 *   log.info("hello");
 *   return 0;
 * });
 * ```
 */
export async function withObservability(
  v: FlagValues,
  body: (log: Logger) => Promise<number>,
): Promise<number> {
  const format = logFormat(v);
  const min = logLevel(v);
  const dsn = sentryDsn(typeof v["sentry-dsn"] === "string" ? v["sentry-dsn"] : undefined);
  let reporter: ErrorReporter | undefined;
  if (dsn) {
    reporter = await startSentry({
      dsn,
      version: VERSION,
      environment: Deno.env.get("SENTRY_ENVIRONMENT") || "production",
      serverName: hostname(),
    });
  }
  const log = consoleLogger({
    level: min,
    format,
    component: "aurproxy",
    errorSink: reporter?.sink,
  });
  const stopUncaught = reporter ? reportUncaught(reporter) : () => {};
  try {
    return await body(log);
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof UsageErrors)) reporter?.fatal(err);
    throw err;
  } finally {
    stopUncaught();
    await reporter?.flush(SENTRY_FLUSH_MS);
  }
}

function hostname(): string | undefined {
  try {
    return Deno.hostname();
  } catch {
    return undefined;
  }
}
