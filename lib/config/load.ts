/**
 * Reads `--config`: a JSON string (starts with `{`), `file:///path`, or a plain path.
 * Every failure is a {@linkcode UsageError} on `--config` saying what went wrong and,
 * for JSON, where (line and column).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import { parseConfig, type ParseOptions } from "./parse.ts";
import type { ProxyConfig } from "../model/config.ts";

const FLAG = "--config";

/** The file a `--config` value names, or undefined when it is the JSON itself. */
function configFile(arg: string): string | undefined {
  const trimmed = arg.trim();
  if (trimmed.startsWith("{")) return undefined;
  if (trimmed === "") {
    throw new UsageError(FLAG, "empty: expected a JSON object, file:///path or a path");
  }
  if (!trimmed.startsWith("file://")) return arg;
  try {
    return fileURLToPath(trimmed);
  } catch (err) {
    throw new UsageError(
      FLAG,
      `not a valid file URL ${JSON.stringify(arg)}: ${(err as Error).message}`,
    );
  }
}

/**
 * The file a `--config` value names (a path, or `file:///path`), or undefined when it is
 * the JSON itself. Throws {@linkcode UsageError} for an empty value or a bad file URL.
 *
 * @example
 * ```ts
 * configFileOf("file:///etc/aurproxy/config.json"); // "/etc/aurproxy/config.json"
 * configFileOf('{"servers": []}'); // undefined
 * ```
 */
export function configFileOf(arg: string): string | undefined {
  return configFile(arg);
}

async function readConfigFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound
      ? "no such file"
      : err instanceof Deno.errors.IsADirectory
      ? "is a directory"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : (err as Error).message;
    throw new UsageError(FLAG, `cannot read ${path}: ${why}`);
  }
}

/**
 * The JSON text behind a `--config` value.
 *
 * @example
 * ```ts
 * const json = '{"backend": "nginx", "servers": []}';
 * await loadConfigText(json); // the string itself
 * const file = await Deno.makeTempFile({ suffix: ".json" });
 * await Deno.writeTextFile(file, json);
 * await loadConfigText(`file://${file}`); // the file's text
 * await loadConfigText(file); // the same
 * await Deno.remove(file);
 * ```
 */
export async function loadConfigText(arg: string): Promise<string> {
  const file = configFile(arg);
  return file === undefined ? arg : await readConfigFile(file);
}

/** Where and why a JSON text is malformed. */
export interface JsonSyntaxError {
  /** 0-based offset of the offending character (the text's length at a premature end). */
  readonly offset: number;
  readonly reason: string;
}

class SyntaxStop {
  constructor(readonly offset: number, readonly reason: string) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * The first syntax error in `text`, or undefined when it is valid JSON. V8's own
 * messages sometimes omit the position and sometimes quote the whole text, so the
 * position is found here with a small scanner of the JSON grammar.
 *
 * @example
 * ```ts
 * findJsonSyntaxError('{"a": 1,}'); // { offset: 8, reason: 'trailing comma before "}"' }
 * ```
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const stack: string[] = [];
  /** A container was just opened: it may close at once, and no comma is due. */
  let fresh = false;
  const stop = (reason: string, at = i): never => {
    throw new SyntaxStop(at, reason);
  };
  const got = () => i >= text.length ? "the end of the input" : JSON.stringify(text[i]);
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    const start = i++;
    for (;;) {
      if (i >= text.length) stop("unterminated string", start);
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) stop("control character in a string (write it as an escape like \\n)");
      if (c !== 0x5c) {
        i++;
      } else if (text[i + 1] === "u") {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) stop("bad \\u escape");
        i += 6;
      } else if (text[i + 1] !== undefined && '"\\/bfnrt'.includes(text[i + 1])) {
        i += 2;
      } else {
        stop("bad escape in a string");
      }
    }
  };
  /** One value, or the opening of a container (pushed on the stack). */
  const value = () => {
    ws();
    const c = text[i];
    if (c === '"') return string();
    if (c === "{" || c === "[") {
      stack.push(text[i++]);
      fresh = true;
      return;
    }
    for (const literal of ["true", "false", "null"]) {
      if (text.startsWith(literal, i)) return void (i += literal.length);
    }
    NUMBER.lastIndex = i;
    if (c !== undefined && NUMBER.exec(text)) return void (i = NUMBER.lastIndex);
    stop(`expected a value, got ${got()}`);
  };
  const key = () => {
    ws();
    if (text[i] !== '"') stop(`expected a property name in double quotes, got ${got()}`);
    string();
    ws();
    if (text[i] !== ":") stop(`expected ":" after a property name, got ${got()}`);
    i++;
  };
  try {
    value();
    for (;;) {
      const top = stack.at(-1);
      const close = top === "{" ? "}" : "]";
      ws();
      if (top === undefined) {
        if (i < text.length) stop(`unexpected ${got()} after the end of the JSON value`);
        return undefined;
      }
      if (text[i] === close) {
        i++;
        stack.pop();
        fresh = false;
        continue;
      }
      if (!fresh) {
        if (text[i] !== ",") stop(`expected "," or "${close}", got ${got()}`);
        i++;
        ws();
        if (text[i] === close) stop(`trailing comma before "${close}"`);
      }
      fresh = false;
      if (top === "{") key();
      value();
    }
  } catch (e) {
    if (e instanceof SyntaxStop) return { offset: e.offset, reason: e.reason };
    throw e;
  }
}

/**
 * Parses JSON, naming line and column on a syntax error.
 *
 * @example
 * ```ts
 * parseJsonText('{"a": 1}', "--config"); // { a: 1 }
 * try {
 *   parseJsonText("{nope", "--config");
 * } catch (e) {
 *   String(e); // --config: invalid JSON at line 1, column 2: expected a property name ...
 * }
 * ```
 */
export function parseJsonText(text: string, path: string, file?: string): unknown {
  // A byte-order mark is not JSON, but editors write one; it carries no meaning.
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const where = file ? ` in ${file}` : "";
    const found = findJsonSyntaxError(body);
    if (!found) {
      throw new UsageError(path, `invalid JSON${where}: ${(err as Error).message.slice(0, 200)}`);
    }
    const before = body.slice(0, found.offset);
    const line = before.split("\n").length;
    const column = found.offset - before.lastIndexOf("\n");
    throw new UsageError(
      path,
      `invalid JSON${where} at line ${line}, column ${column}: ${found.reason}`,
    );
  }
}

/**
 * Loads and validates `--config`. Throws {@linkcode UsageError} (cannot read, bad JSON)
 * or {@linkcode UsageErrors} (every problem with the config itself).
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const source = { source_class: "static", name: "a", host: "10.0.0.1", port: 80 };
 * const text = JSON.stringify({
 *   backend: "nginx",
 *   servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * });
 * const config = await loadConfig(text, { kinds: BUILTIN_KINDS }); // or a path, file:///path
 * config.servers.length; // 1
 * ```
 */
export async function loadConfig(arg: string, options: ParseOptions): Promise<ProxyConfig> {
  const file = configFile(arg);
  const text = file === undefined ? arg : await readConfigFile(file);
  return parseConfig(parseJsonText(text, FLAG, file), options);
}
