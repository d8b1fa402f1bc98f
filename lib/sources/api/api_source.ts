/**
 * `ApiSource`: a source whose endpoints are those of the sources added to it over HTTP
 * (its routes are in `./routes.ts`). To the pipeline it is one source like any other:
 * its endpoints are the union of its managed sources' endpoints, and its own
 * `share_adjusters` apply to every one of them (as in the original, where the managed
 * sources' callbacks were re-raised as the ApiSource's own); each change reaches the
 * proxy through the normal update path, as a change event.
 *
 * A managed source starts when added (the answer waits for its start), stops when
 * deleted, replaced (after its replacement started, so a replacement never empties the
 * pool in between) or expired; expiry runs on the injected clock. Changes are made one
 * at a time and, with a file to keep them in, written before they are answered.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import { ChangeSignal, type Unsubscribe } from "../../lifecycle/signal.ts";
import type { Logger } from "../../log.ts";
import type { ApiSourceConfig, SourceConfig } from "../../model/config.ts";
import { type Endpoint, endpointKey } from "../../model/endpoint.ts";
import type { ManagedSourceStatus } from "../../model/snapshot.ts";
import type { Source, SourceStatus } from "../source.ts";
import { formatExpiration } from "./expiration.ts";
import type { ManagedSourceFile, StoredManaged } from "./managed_file.ts";
import type { ValidPut } from "./put_body.ts";

/** What an ApiSource is built with; shared objects come from the wiring. */
export interface ApiSourceDeps {
  /** Builds a managed source (the same factory as the proxy's sources). */
  readonly createSource: (config: SourceConfig) => Source;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where managed sources are kept across restarts; none: they live in memory only. */
  readonly file?: ManagedSourceFile;
  /** Checks a stored entry at start-up as a PUT is checked (see `checkStored`). */
  readonly checkStored?: (
    source: unknown,
    expiration: string | null,
  ) => ValidPut | { readonly ok: false; readonly expired?: true; readonly message?: string };
}

/** One source added over HTTP. */
interface Managed {
  readonly name: string;
  readonly put: ValidPut;
  readonly updatedAt: number;
  source?: Source;
  unsubscribe?: Unsubscribe;
  timer?: TimerId;
}

/** setTimeout's longest delay; a later expiry waits in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether a PUT added a source or replaced one. */
export type PutOutcome = "created" | "replaced";

/**
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 * import { memoryLogger } from "../../log.ts";
 * import { StaticSource } from "../static.ts";
 * import { parseSourceConfig } from "../../kinds.ts";
 * import type { StaticSourceConfig } from "../../model/config.ts";
 *
 * const api = new ApiSource(
 *   { kind: "api", path: "source", name: "replay", sourceWhitelist: [], shareAdjusters: [] },
 *   { createSource: (c) => new StaticSource(c as StaticSourceConfig), clock: systemClock, logger: memoryLogger() },
 * );
 * await api.start();
 * const raw = { source_class: "static", name: "web", host: "10.0.0.1", port: 80 };
 * await api.put("web", { ok: true, raw, config: parseSourceConfig(raw), expiresAt: null });
 * api.endpoints(); // [{ host: "10.0.0.1", port: 80, ports: { default: 80 } }]
 * await api.stop();
 * ```
 */
export class ApiSource implements Source {
  readonly name: string;
  readonly config: ApiSourceConfig;
  readonly #deps: ApiSourceDeps;
  readonly #entries = new Map<string, Managed>();
  readonly #changed = new ChangeSignal();
  #endpoints: readonly Endpoint[] = Object.freeze([]);
  #signature = "";
  #running = false;
  #queue: Promise<unknown> = Promise.resolve();
  #saveError?: string;

  constructor(config: ApiSourceConfig, deps: ApiSourceDeps) {
    this.config = config;
    this.name = `api.${config.name}`;
    this.#deps = deps;
    this.#restore();
  }

  /** The names of the managed sources, in the order they were added. */
  list(): string[] {
    return [...this.#entries.keys()];
  }

  /** A managed source's config as PUT and its expiration, or undefined. */
  get(name: string): { source: unknown; expiration: string | null } | undefined {
    const m = this.#entries.get(name);
    return m && { source: m.put.raw, expiration: formatExpiration(m.put.expiresAt) };
  }

  /**
   * Adds or replaces a managed source; resolves once it has started (and, with a file,
   * once that is written). Rejects, changing nothing, when the new source fails to start.
   * While the ApiSource is stopped the entry is only recorded: it starts with it.
   */
  put(name: string, put: ValidPut): Promise<PutOutcome> {
    return this.#serial(async () => {
      const old = this.#entries.get(name);
      const m: Managed = { name, put, updatedAt: this.#deps.clock.now() };
      if (this.#running) await this.#startOne(m);
      this.#entries.set(name, m);
      if (old) await this.#stopOne(old);
      if (this.#running) {
        this.#scheduleExpiry(m);
        this.#recompute(true);
      }
      await this.#save();
      return old ? "replaced" : "created";
    });
  }

  /** Deletes a managed source; false when there was none of that name. */
  delete(name: string): Promise<boolean> {
    return this.#serial(() => this.#remove(name));
  }

  start(): Promise<void> {
    return this.#serial(async () => {
      if (this.#running) return;
      this.#running = true;
      const now = this.#deps.clock.now();
      const expired = [...this.#entries.values()].filter((m) =>
        m.put.expiresAt !== null && m.put.expiresAt <= now
      );
      for (const m of expired) {
        this.#entries.delete(m.name);
        this.#deps.logger.info(`${m.name} expired while stopped; dropped`);
      }
      const results = await Promise.allSettled(
        [...this.#entries.values()].map((m) => this.#startOne(m)),
      );
      results.forEach((r, i) => {
        if (r.status === "rejected") {
          const m = [...this.#entries.values()][i];
          this.#deps.logger.error(`managed source ${m.name} failed to start`, r.reason);
        }
      });
      for (const m of this.#entries.values()) this.#scheduleExpiry(m);
      this.#recompute(false);
      if (expired.length) await this.#save();
    });
  }

  stop(): Promise<void> {
    return this.#serial(async () => {
      if (!this.#running) return;
      this.#running = false;
      await Promise.all([...this.#entries.values()].map((m) => this.#stopOne(m)));
    });
  }

  endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  onChange(fn: () => void): Unsubscribe {
    return this.#changed.subscribe(fn);
  }

  /** Unhealthy while the file cannot be written or a managed source is unhealthy. */
  status(): SourceStatus {
    const lines: string[] = [];
    if (this.#saveError) lines.push(this.#saveError);
    for (const m of this.#entries.values()) {
      const st = m.source?.status?.();
      if (st && !st.healthy) lines.push(`${m.name}: ${st.detail}`);
    }
    if (lines.length) return { healthy: false, detail: lines.join("; ") };
    return { healthy: true, detail: `${this.#entries.size} managed source(s)` };
  }

  /** The managed sources, for `/status.json` and the status page. */
  managed(): ManagedSourceStatus[] {
    return [...this.#entries.values()].map((m) => ({
      name: m.name,
      sourceClass: String(m.put.raw.source_class),
      expiration: formatExpiration(m.put.expiresAt),
      updatedAt: new Date(m.updatedAt).toISOString(),
      endpoints: (m.source?.endpoints() ?? []).map(endpointKey),
    }));
  }

  /** Runs `fn` after every change before it: one change at a time. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #remove(name: string, why = "deleted"): Promise<boolean> {
    const m = this.#entries.get(name);
    if (!m) return false;
    this.#entries.delete(name);
    await this.#stopOne(m);
    this.#recompute(true);
    this.#deps.logger.info(`${name} ${why}`);
    await this.#save();
    return true;
  }

  async #startOne(m: Managed): Promise<void> {
    const source = this.#deps.createSource(m.put.config);
    const unsubscribe = source.onChange(() => {
      if (m.source === source) this.#recompute(true);
    });
    try {
      await source.start();
    } catch (err) {
      unsubscribe();
      await source.stop().catch(() => {});
      throw err;
    }
    m.source = source;
    m.unsubscribe = unsubscribe;
  }

  async #stopOne(m: Managed): Promise<void> {
    if (m.timer !== undefined) this.#deps.clock.clearTimeout(m.timer);
    m.timer = undefined;
    const source = m.source;
    m.unsubscribe?.();
    m.source = m.unsubscribe = undefined;
    try {
      await source?.stop();
    } catch (err) {
      this.#deps.logger.error(`stopping ${m.name} failed`, err);
    }
  }

  #scheduleExpiry(m: Managed): void {
    const at = m.put.expiresAt;
    if (at === null || !this.#running) return;
    const delay = at - this.#deps.clock.now();
    m.timer = this.#deps.clock.setTimeout(() => {
      m.timer = undefined;
      if (this.#entries.get(m.name) !== m) return;
      if (delay > MAX_TIMER_MS) return this.#scheduleExpiry(m);
      void this.#serial(async () => {
        if (this.#entries.get(m.name) === m) await this.#remove(m.name, "expired");
      });
    }, Math.min(Math.max(0, delay), MAX_TIMER_MS));
  }

  /** The union of the running managed sources' endpoints (first of a `host:port` wins). */
  #recompute(emit: boolean): void {
    if (!this.#running) return;
    const seen = new Map<string, Endpoint>();
    for (const m of this.#entries.values()) {
      for (const e of m.source?.endpoints() ?? []) {
        const key = endpointKey(e);
        if (!seen.has(key)) seen.set(key, e);
      }
    }
    const signature = [...seen].map(([k, e]) => `${k}=${JSON.stringify(e.ports)}`).join(",");
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#endpoints = Object.freeze([...seen.values()]);
    if (emit) this.#changed.emit();
  }

  async #save(): Promise<void> {
    const file = this.#deps.file;
    if (!file) return;
    const entries = [...this.#entries.values()].map((m): [string, StoredManaged] => [m.name, {
      source: m.put.raw,
      expiration: formatExpiration(m.put.expiresAt),
      updated_at: new Date(m.updatedAt).toISOString(),
    }]);
    try {
      await file.save(this.config.name, entries);
      if (this.#saveError) this.#deps.logger.info(`${file.path} written again`);
      this.#saveError = undefined;
    } catch (err) {
      this.#saveError = `cannot write ${file.path}: managed sources would not survive a restart`;
      this.#deps.logger.error(this.#saveError, err);
    }
  }

  /** Takes the stored entries back, each checked as a PUT would be. */
  #restore(): void {
    const { file, checkStored } = this.#deps;
    if (!file || !checkStored) return;
    for (const [name, stored] of file.entries(this.config.name)) {
      const r = checkStored(stored.source, stored.expiration);
      if (!r.ok) {
        const why = "expired" in r ? "expired" : `no longer valid: ${r.message}`;
        this.#deps.logger.warn(`not restoring ${name} from ${file.path}: ${why}`);
        continue;
      }
      const updatedAt = Date.parse(stored.updated_at);
      this.#entries.set(name, {
        name,
        put: r,
        updatedAt: Number.isFinite(updatedAt) ? updatedAt : this.#deps.clock.now(),
      });
    }
    if (this.#entries.size) {
      this.#deps.logger.info(
        `restored ${this.#entries.size} managed source(s) from ${file.path}`,
      );
    }
  }
}
