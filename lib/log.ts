/**
 * A small leveled logger writing one line per event to stderr: `time LEVEL component:
 * message`, or with `format: "json"` one JSON object a line (`time`, `level`, `logger`,
 * `message`, then the error and any fields). Passed down like any collaborator; tests pass
 * a capturing logger to assert on messages.
 *
 * @module
 */

export type Level = "debug" | "info" | "warn" | "error";

/** `--log-format`. */
export type LogFormat = "text" | "json";

/** Extra structured data of one line (`{ publisher: "librato" }`). */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, err?: unknown, fields?: LogFields): void;
  info(msg: string, err?: unknown, fields?: LogFields): void;
  warn(msg: string, err?: unknown, fields?: LogFields): void;
  error(msg: string, err?: unknown, fields?: LogFields): void;
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
  /** `text` (default) or `json`. */
  format?: LogFormat;
}

function describe(err: unknown): string {
  if (err === undefined) return "";
  if (err instanceof Error) return `: ${err.message}`;
  return `: ${String(err)}`;
}

function fieldText(fields: LogFields | undefined): string {
  if (!fields) return "";
  return Object.entries(fields).map(([k, v]) => {
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return ` ${k}=${/^[^\s"=]+$/.test(s ?? "") ? s : JSON.stringify(s)}`;
  }).join("");
}

function jsonLine(
  level: Level,
  logger: string,
  msg: string,
  err: unknown,
  fields: LogFields | undefined,
): string {
  const line: Record<string, unknown> = {
    time: new Date().toISOString(),
    level,
    logger,
    message: msg,
  };
  if (err instanceof Error) {
    line.error = err.message;
    line.error_type = err.name;
    if (err.stack) line.stack = err.stack;
  } else if (err !== undefined) {
    line.error = String(err);
  }
  // Fields never overwrite the five above.
  for (const [k, v] of Object.entries(fields ?? {})) if (!(k in line)) line[k] = v;
  return JSON.stringify(line);
}

/**
 * @example
 * ```ts
 * const log = consoleLogger({ level: "info" }).child("updater");
 * log.info("applied config"); // "2026-11-25T10:00:00.000Z INFO updater: applied config"
 * const json = consoleLogger({ format: "json" }).child("publisher");
 * json.warn("publish failed", new Error("refused"), { publisher: "librato" });
 * // {"time":"...","level":"warn","logger":"publisher","message":"publish failed","error":"refused",...,"publisher":"librato"}
 * ```
 */
export function consoleLogger(opts: ConsoleLoggerOptions = {}): Logger {
  const min = ORDER[opts.level ?? "info"];
  const write = opts.write ?? ((line: string) => console.error(line));
  const make = (component: string): Logger => {
    const emit = (level: Level) => (msg: string, err?: unknown, fields?: LogFields) => {
      if (ORDER[level] < min) return;
      const prefix = component ? `${component}: ` : "";
      write(
        opts.format === "json"
          ? jsonLine(level, component, msg, err, fields)
          : `${new Date().toISOString()} ${level.toUpperCase()} ${prefix}${msg}${describe(err)}${
            fieldText(fields)
          }`,
      );
      if (level === "error" && opts.errorSink) {
        try {
          opts.errorSink(`${prefix}${msg}`, err);
        } catch {
          // Error reporting must never break the code that logged.
        }
      }
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
