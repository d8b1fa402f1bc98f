/**
 * Reads `--config`: a JSON string, `file:///path`, or a plain path.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.ts";
import { parseConfig } from "./parse.ts";
import type { ProxyConfig } from "./types.ts";

/**
 * The JSON text behind a `--config` value.
 *
 * @example
 * ```ts
 * await loadConfigText('{"backend": "nginx", "servers": []}'); // the string itself
 * await loadConfigText("file:///etc/aurproxy/config.json");    // the file's text
 * ```
 */
export async function loadConfigText(arg: string): Promise<string> {
  if (arg.trimStart().startsWith("{")) return arg;
  let path = arg;
  if (arg.startsWith("file://")) {
    try {
      path = fileURLToPath(arg);
    } catch (err) {
      throw new UsageError(
        "--config",
        `not a valid file URL ${JSON.stringify(arg)}: ${(err as Error).message}`,
      );
    }
  }
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
    throw new UsageError("--config", `cannot read ${path}: ${why}`);
  }
}

/** Parses JSON, naming line and column on a syntax error. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg);
    let where = "";
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split("\n").length;
      const col = Number(pos[1]) - before.lastIndexOf("\n");
      where = ` at line ${line}, column ${col}`;
    }
    throw new UsageError(what, `invalid JSON${where}: ${msg}`);
  }
}

/** Loads and validates `--config`. Throws UsageError/UsageErrors. */
export async function loadConfig(arg: string): Promise<ProxyConfig> {
  return parseConfig(parseJsonText(await loadConfigText(arg), "--config"));
}
