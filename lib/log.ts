/**
 * A small leveled logger writing one line per event to stderr: `LEVEL component: message`.
 * Passed down like any collaborator; tests pass a capturing logger to assert on messages.
 *
 * @module
 */

export type Level = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(msg: string, err?: unknown): void;
  info(msg: string, err?: unknown): void;
  warn(msg: string, err?: unknown): void;
  error(msg: string, err?: unknown): void;
  /** A logger whose lines are prefixed with `component`. */
  child(component: string): Logger;
}

const ORDER: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Hook for error reporting (Sentry): called for every `error` line. */
export type ErrorSink = (msg: string, err: unknown) => void;

export interface ConsoleLoggerOptions {
  level?: Level;
  component?: string;
  errorSink?: ErrorSink;
  write?: (line: string) => void;
}

function describe(err: unknown): string {
  if (err === undefined) return "";
  if (err instanceof Error) return `: ${err.message}`;
  return `: ${String(err)}`;
}

/**
 * @example
 * ```ts
 * const log = consoleLogger({ level: "info" }).child("updater");
 * log.info("applied config"); // "2026-11-25T10:00:00.000Z INFO updater: applied config"
 * ```
 */
export function consoleLogger(opts: ConsoleLoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.error(line));
  const make = (component: string): Logger => {
    const emit = (level: Level) => (msg: string, err?: unknown) => {
      if (ORDER[level] < min) return;
      const prefix = component ? `${component}: ` : "";
      write(`${new Date().toISOString()} ${level.toUpperCase()} ${prefix}${msg}${describe(err)}`);
      if (level === "error" && opts.errorSink) opts.errorSink(`${prefix}${msg}`, err);
    };
    return {
      debug: emit("debug"),
      info: emit("info"),
      warn: emit("warn"),
      error: emit("error"),
      child: (c) => make(component ? `${component}.${c}` : c),
    };
  };
  return make(opts.component ?? "");
}

/** A logger that records lines in memory, for tests. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = consoleLogger({ level: "debug", write: (l) => lines.push(l) });
  return Object.assign(log, { lines });
}
