/**
 * The sources added over HTTP, kept beside the state file (`<state-file>.api.json`) so
 * that they and their expirations survive a restart. One file for every ApiSource of the
 * process, rewritten whole and atomically (temp file + rename) after each change, before
 * the change is answered. Nothing read back is trusted: each entry is checked again as a
 * PUT would be (see `ApiSource`), and expired ones are dropped.
 *
 * @module
 */

import { dirname } from "node:path";
import type { Logger } from "../../log.ts";

/** One managed source as written: its config as PUT, and when it expires. */
export interface StoredManaged {
  /** The `source` object of the PUT, exactly as received. */
  readonly source: Readonly<Record<string, unknown>>;
  /** ISO-8601, or null for never. */
  readonly expiration: string | null;
  /** When it was added or last replaced, ISO-8601. */
  readonly updated_at: string;
}

/** The file: managed sources by ApiSource name, then by their own name. */
interface FileFormat {
  version: 1;
  written_at: string;
  api_sources: Record<string, Record<string, StoredManaged>>;
}

/** Where the managed sources of a `--state-file` are kept. */
export function managedFilePath(stateFile: string): string {
  return `${stateFile}.api.json`;
}

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../../log.ts";
 * const dir = await Deno.makeTempDir();
 * const file = await ManagedSourceFile.load(managedFilePath(`${dir}/state.json`), memoryLogger());
 * const source = { source_class: "static", name: "w", host: "10.0.0.1", port: 80 };
 * await file.save("replay", [["web", { source, expiration: null, updated_at: "2030-01-01T00:00:00Z" }]]);
 * (await ManagedSourceFile.load(file.path, memoryLogger())).entries("replay")[0][0]; // "web"
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ManagedSourceFile {
  readonly path: string;
  readonly #logger: Logger;
  readonly #data = new Map<string, Map<string, StoredManaged>>();
  #writing: Promise<void> = Promise.resolve();
  #writes = 0;

  private constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
  }

  /** Reads the file when present and well-formed; otherwise starts empty and says why. */
  static async load(path: string, logger: Logger): Promise<ManagedSourceFile> {
    const file = new ManagedSourceFile(path, logger);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        logger.warn(`cannot read ${path}; starting without the sources added over HTTP`, err);
      }
      return file;
    }
    const why = file.#parse(text);
    if (why) logger.warn(`ignoring ${path}: ${why}`);
    return file;
  }

  /** How many times the file was written. */
  get writes(): number {
    return this.#writes;
  }

  /** The stored entries of one ApiSource, in the order they were added. */
  entries(apiName: string): [string, StoredManaged][] {
    return [...this.#data.get(apiName) ?? []];
  }

  /**
   * Replaces one ApiSource's entries and writes the file; resolves once it is on disk
   * (rejects when it could not be written). Writes never overlap: each waits for the one
   * before, and writes everything known by then.
   */
  save(apiName: string, entries: readonly (readonly [string, StoredManaged])[]): Promise<void> {
    if (entries.length) this.#data.set(apiName, new Map(entries));
    else this.#data.delete(apiName);
    const body = this.#body();
    const write = this.#writing.then(() => this.#write(body));
    this.#writing = write.catch(() => {});
    return write;
  }

  #body(): string {
    const f: FileFormat = {
      version: 1,
      written_at: new Date().toISOString(),
      api_sources: Object.fromEntries(
        [...this.#data].map(([api, m]) => [api, Object.fromEntries(m)]),
      ),
    };
    return JSON.stringify(f, null, 2) + "\n";
  }

  async #write(body: string): Promise<void> {
    await Deno.mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    // Source configs may name private hosts: readable by aurproxy's user only.
    await Deno.writeTextFile(tmp, body, { mode: 0o600 });
    await Deno.rename(tmp, this.path);
    this.#writes++;
  }

  /** Fills the entries from `text`; returns why the file is unusable, if it is. */
  #parse(text: string): string | undefined {
    let j: unknown;
    try {
      j = JSON.parse(text);
    } catch {
      return "not JSON";
    }
    const o = j as Partial<FileFormat> | null;
    if (!o || typeof o !== "object" || o.version !== 1 || !isObject(o.api_sources)) {
      return "not a file of sources added over HTTP (version 1)";
    }
    for (const [api, entries] of Object.entries(o.api_sources)) {
      if (!isObject(entries)) continue;
      const m = new Map<string, StoredManaged>();
      for (const [name, e] of Object.entries(entries)) {
        const v = e as Partial<StoredManaged> | null;
        if (
          !v || !isObject(v.source) ||
          !(v.expiration === null || typeof v.expiration === "string") ||
          typeof v.updated_at !== "string"
        ) {
          this.#logger.warn(`${this.path}: skipping ${api}/${name}: malformed entry`);
          continue;
        }
        m.set(name, { source: v.source, expiration: v.expiration, updated_at: v.updated_at });
      }
      if (m.size) this.#data.set(api, m);
    }
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
