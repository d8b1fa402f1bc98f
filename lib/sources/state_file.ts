/**
 * The last known endpoints of every registry source, kept in one JSON file so that an
 * aurproxy restarted while ZooKeeper is unreachable still knows where to send traffic.
 * Written atomically (temp file + rename) shortly after each change; a file older than
 * `maxAgeSeconds` is ignored, and every entry is validated again on load.
 *
 * @module
 */

import { dirname } from "node:path";
import type { Clock, TimerId } from "../clock.ts";
import type { Endpoint } from "../endpoint.ts";
import { validateEndpointFields } from "../endpoint.ts";
import type { Logger } from "../log.ts";

interface FileFormat {
  version: 1;
  writtenAt: number;
  sources: Record<string, { host: string; port: number; ports: Record<string, number> }[]>;
}

export interface StateStoreOptions {
  readonly maxAgeSeconds: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Writes are batched this long after a change. */
  readonly flushDelayMs?: number;
}

/**
 * @example
 * ```ts
 * const state = await EndpointStateStore.load("/var/lib/aurproxy/state.json", { maxAgeSeconds: 86400, clock, logger });
 * state.get("aurora:www-data/prod/web")?.endpoints;
 * ```
 */
export class EndpointStateStore {
  readonly path: string;
  readonly #o: StateStoreOptions;
  readonly #sources = new Map<string, readonly Endpoint[]>();
  /** When the loaded file was written (ms), if one was loaded. */
  readonly loadedWrittenAt?: number;
  #timer?: TimerId;
  #writing?: Promise<void>;
  #dirty = false;

  private constructor(path: string, o: StateStoreOptions, writtenAt?: number) {
    this.path = path;
    this.#o = o;
    this.loadedWrittenAt = writtenAt;
  }

  /** Reads the file if present, fresh and well-formed; otherwise starts empty (and says why). */
  static async load(path: string, o: StateStoreOptions): Promise<EndpointStateStore> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        o.logger.warn(`cannot read state file ${path}`, err);
      }
      return new EndpointStateStore(path, o);
    }
    let parsed: FileFormat;
    try {
      parsed = JSON.parse(text);
      if (
        parsed?.version !== 1 || typeof parsed.writtenAt !== "number" ||
        typeof parsed.sources !== "object"
      ) {
        throw new Error("unexpected format");
      }
    } catch (err) {
      o.logger.warn(`ignoring state file ${path}: not a valid aurproxy state file`, err);
      return new EndpointStateStore(path, o);
    }
    const ageS = (o.clock.now() - parsed.writtenAt) / 1000;
    if (ageS > o.maxAgeSeconds) {
      o.logger.warn(
        `ignoring state file ${path}: ${Math.round(ageS)}s old (max ${o.maxAgeSeconds}s)`,
      );
      return new EndpointStateStore(path, o);
    }
    const store = new EndpointStateStore(path, o, parsed.writtenAt);
    for (const [name, eps] of Object.entries(parsed.sources)) {
      if (!Array.isArray(eps)) continue;
      const ok: Endpoint[] = [];
      for (const e of eps) {
        const bad = validateEndpointFields(e?.host, e?.port);
        if (bad) {
          o.logger.warn(`state file ${path}: skipping an endpoint of ${name}: ${bad}`);
          continue;
        }
        const ports = Object.fromEntries(
          Object.entries(e.ports ?? {}).filter(([, p]) =>
            validateEndpointFields(e.host, p) === null
          ),
        ) as Record<string, number>;
        ok.push({ host: e.host, port: e.port, ports, origin: `state file ${path}` });
      }
      store.#sources.set(name, ok);
    }
    o.logger.info(
      `loaded last known endpoints of ${store.#sources.size} source(s) from ${path} (${
        Math.round(ageS)
      }s old)`,
    );
    return store;
  }

  /** The saved endpoints of a source, with when the file was written. */
  get(name: string): { endpoints: readonly Endpoint[]; savedAt: number } | undefined {
    const eps = this.#sources.get(name);
    return eps && this.loadedWrittenAt !== undefined
      ? { endpoints: eps, savedAt: this.loadedWrittenAt }
      : undefined;
  }

  /** Records a source's current endpoints; written to disk shortly after. */
  put(name: string, endpoints: readonly Endpoint[]): void {
    this.#sources.set(name, endpoints);
    this.#dirty = true;
    if (this.#timer === undefined) {
      this.#timer = this.#o.clock.setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#o.flushDelayMs ?? 500);
    }
  }

  /** Writes now if anything changed. */
  async flush(): Promise<void> {
    await this.#writing;
    if (!this.#dirty) return;
    this.#dirty = false;
    const body: FileFormat = {
      version: 1,
      writtenAt: this.#o.clock.now(),
      sources: Object.fromEntries(
        [...this.#sources].map((
          [n, eps],
        ) => [n, eps.map((e) => ({ host: e.host, port: e.port, ports: { ...e.ports } }))]),
      ),
    };
    this.#writing = (async () => {
      try {
        await Deno.mkdir(dirname(this.path), { recursive: true });
        const tmp = `${this.path}.${Deno.pid}.tmp`;
        await Deno.writeTextFile(tmp, JSON.stringify(body));
        await Deno.rename(tmp, this.path);
      } catch (err) {
        this.#o.logger.error(`cannot write state file ${this.path}`, err);
      }
    })();
    await this.#writing;
  }

  /** Cancels the pending timer and writes what is pending. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
