/**
 * Error reporting to Sentry (`--sentry-dsn`), through `@sentry/deno`: every line logged
 * at ERROR (as the original's logging handler did) and every uncaught exception, each
 * with the release (`aurproxy@<version>`) and environment. The SDK is imported only when
 * a DSN is given (it is large), with none of its instrumentation (it would wrap
 * `Deno.serve`, `fetch` and the console); it sends in the background and drops what it
 * cannot deliver, so an unreachable Sentry costs the proxy nothing. At exit, events are
 * flushed for at most 2 s.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { ErrorSink } from "../log.ts";

/** Sentry's DSN form, after the original's transport prefix and options are dropped. */
const DSN =
  /^(https?):\/\/(\w+)(?::\w*)?@(\[[:.%\w]+\]|[\w.-]+)(?::(\d+))?\/(?:[^?#]*\/)?(\d+)\/?$/;

/**
 * The DSN the SDK takes, or undefined when `raw` is empty (reporting off). The original's
 * spellings are accepted: a raven transport prefix (`gevent+https://…`, `threaded+http://…`)
 * and raven's `?options` are dropped; the secret key of old DSNs is kept (the SDK ignores
 * it). Throws {@linkcode UsageError} for anything else, without echoing the secret.
 *
 * @example
 * ```ts
 * sentryDsn("gevent+https://pub:secret@app.getsentry.com/42"); // "https://pub:secret@app.getsentry.com/42"
 * sentryDsn(""); // undefined
 * ```
 */
export function sentryDsn(raw: string | undefined): string | undefined {
  const s = (raw ?? "").trim();
  if (s === "") return undefined;
  const dsn = s.replace(/^[a-z][a-z0-9]*\+(?=https?:)/i, "").replace(/\?.*$/, "");
  if (!DSN.test(dsn)) {
    throw new UsageError(
      "--sentry-dsn",
      "expected http(s)://<public key>[:<secret>]@<host>[:<port>]/<project id> " +
        "(a raven transport prefix such as gevent+ is accepted)",
    );
  }
  return dsn;
}

/** What the SDK is started with. */
export interface SentryOptions {
  /** A DSN from {@linkcode sentryDsn}. */
  readonly dsn: string;
  /** aurproxy's version; the release is `aurproxy@<version>`. */
  readonly version: string;
  readonly environment: string;
  readonly serverName?: string;
}

/** A started reporter. */
export interface ErrorReporter {
  /** For the logger: every ERROR line becomes an event. */
  readonly sink: ErrorSink;
  /** Reports an exception that ends the process (level fatal, unhandled). */
  fatal(err: unknown): void;
  /** Waits up to `timeoutMs` for queued events to be sent; true when all were. */
  flush(timeoutMs: number): Promise<boolean>;
}

/**
 * Starts the SDK.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "../log.ts";
 *
 * async function withSentry(dsn: string) {
 *   const reporter = await startSentry({
 *     dsn: sentryDsn(dsn)!,
 *     version: "0.1.0",
 *     environment: "production",
 *   });
 *   const log = consoleLogger({ errorSink: reporter.sink });
 *   log.error("proxy update failed", new Error("nginx is not running")); // an event
 *   await reporter.flush(2000);
 * }
 * ```
 */
export async function startSentry(o: SentryOptions): Promise<ErrorReporter> {
  const Sentry = await import("@sentry/deno");
  Sentry.init({
    dsn: o.dsn,
    release: `aurproxy@${o.version}`,
    environment: o.environment,
    serverName: o.serverName,
    // Only what shapes an event; nothing that patches Deno's or the console's functions.
    defaultIntegrations: false,
    integrations: [
      Sentry.inboundFiltersIntegration(),
      Sentry.functionToStringIntegration(),
      Sentry.linkedErrorsIntegration(),
      Sentry.dedupeIntegration(),
      Sentry.denoContextIntegration(),
    ],
    skipOpenTelemetrySetup: true,
    sendClientReports: false,
  });
  return {
    sink: (msg, err) => {
      if (err instanceof Error) {
        Sentry.captureException(err, { level: "error", extra: { log_message: msg } });
      } else {
        Sentry.captureMessage(err === undefined ? msg : `${msg}: ${String(err)}`, "error");
      }
    },
    fatal: (err) => {
      Sentry.captureException(err, {
        captureContext: { level: "fatal" },
        mechanism: { handled: false, type: "aurproxy.uncaught" },
      });
    },
    flush: (timeoutMs) => Sentry.flush(timeoutMs),
  };
}

/**
 * Reports uncaught exceptions and unhandled rejections, then ends the process as Deno
 * would (the error on stderr, exit 1) once the event is sent or 2 s have passed. Returns a
 * function that removes the handlers.
 *
 * @example
 * ```ts
 * function whileRunning(reporter: ErrorReporter, run: () => Promise<void>) {
 *   // A `throw` in a timer from now on is sent to Sentry, then the process exits 1.
 *   const stop = reportUncaught(reporter);
 *   return run().finally(stop);
 * }
 * ```
 */
export function reportUncaught(
  reporter: ErrorReporter,
  exit: (code: number) => void = Deno.exit,
): () => void {
  let dying = false;
  const die = (err: unknown) => {
    if (dying) return;
    dying = true;
    console.error(`aurproxy: uncaught ${err instanceof Error ? err.stack : String(err)}`);
    reporter.fatal(err);
    void reporter.flush(2000).finally(() => exit(1));
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    die(e.error ?? e.message);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    die(e.reason);
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  };
}
