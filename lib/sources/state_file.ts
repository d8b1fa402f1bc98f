/**
 * The last known endpoints of every registry source, kept in one JSON file so that an
 * aurproxy restarted while ZooKeeper is unreachable still knows where to send traffic.
 *
 * Each source's entry carries when it was last known to be current (`savedAt`). A source
 * that is connected re-confirms its entry periodically (see {@linkcode EndpointStateStore.track}),
 * so a service that has not changed for days is not mistaken for a stale one; an entry
 * older than `maxAgeSeconds` is ignored on load. Written atomically (temp file + rename)
 * shortly after a change and at most once a second however often sources change (a
 * 2,000-member job changing 10 times a second is one write a second, not ten), always on
 * `stop()`, and every entry is validated again on load: a tampered file cannot inject
 * anything that a registry member could not.
 *
 * @module
 */

import { dirname } from "node:path";
import type { Clock, TimerId } from "../clock.ts";
import type { Endpoint } from "../model/endpoint.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { HealthCheckResult } from "../model/health.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import { type FileFormat, parseFile, stored, validateStored } from "./state_file_format.ts";

/** How long entries count, and how often the file is written. */
export interface StateStoreOptions {
  readonly maxAgeSeconds: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For the gauge `state_file_unusable` (1 while the file read at start-up was unusable). */
  readonly metrics?: MetricsRegistry;
  /** Writes are batched this long after a change (default 500 ms). */
  readonly flushDelayMs?: number;
  /** At least this long between the starts of two writes (default 1000 ms). */
  readonly minWriteIntervalMs?: number;
  /**
   * How often tracked sources re-confirm their entries (default a quarter of the max age,
   * at most an hour), so entries of unchanged but healthy sources stay young.
   */
  readonly refreshMs?: number;
}

/** A source's saved endpoints and when they were last known to be current (ms). */
export interface SavedEndpoints {
  readonly endpoints: readonly Endpoint[];
  readonly savedAt: number;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 * import type { Endpoint } from "../model/endpoint.ts";
 *
 * async function remember(endpoints: readonly Endpoint[]) {
 *   const state = await EndpointStateStore.load("/var/lib/aurproxy/state.json", {
 *     maxAgeSeconds: 86400,
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *   });
 *   state.get("aurora:zk:2181/aurora/www-data/prod/web")?.endpoints;
 *   state.put("aurora:zk:2181/aurora/www-data/prod/web", endpoints);
 *   await state.stop(); // writes what is pending
 * }
 * ```
 */
export class EndpointStateStore {
  readonly path: string;
  readonly #o: StateStoreOptions;
  readonly #entries = new Map<string, SavedEndpoints>();
  /** When each entry was last written to disk (its `savedAt` then). */
  readonly #written = new Map<string, number>();
  readonly #tracked = new Map<string, () => readonly Endpoint[] | undefined>();
  #flushTimer?: TimerId;
  #refreshTimer?: TimerId;
  #writing?: Promise<void>;
  /** When the last write started. */
  #wroteAt?: number;
  #dirty = false;
  #stopped = false;
  #writes = 0;
  /** Why the file found at start-up could not be used, until it is written again. */
  #problem?: string;

  private constructor(path: string, o: StateStoreOptions) {
    this.path = path;
    this.#o = o;
    this.#setProblem(undefined);
  }

  #setProblem(why: string | undefined): void {
    this.#problem = why;
    this.#o.metrics?.set(
      "state_file_unusable",
      "1 while the state file found at start-up could not be used (corrupt, truncated, unreadable) and has not been written again.",
      why === undefined ? 0 : 1,
    );
  }

  /** Reads the file if present and well-formed (fresh entries only); otherwise starts empty and says why. */
  static async load(path: string, o: StateStoreOptions): Promise<EndpointStateStore> {
    const store = new EndpointStateStore(path, o);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        o.logger.warn(`cannot read state file ${path}; starting without it`, err);
        store.#setProblem(err instanceof Error ? err.message : String(err));
      }
      return store;
    }
    const entries = parseFile(text);
    if (typeof entries === "string") {
      o.logger.warn(`ignoring state file ${path}: ${entries} (truncated or corrupt?)`);
      store.#setProblem(entries);
      return store;
    }
    const now = o.clock.now();
    for (const { name, savedAt, endpoints } of entries) {
      const ageS = (now - savedAt) / 1000;
      if (ageS > o.maxAgeSeconds) {
        o.logger.warn(
          `state file ${path}: ignoring ${name}: ${
            Math.round(ageS)
          }s old (max ${o.maxAgeSeconds}s)`,
        );
        continue;
      }
      const ok: Endpoint[] = [];
      for (const e of endpoints) {
        const v = validateStored(e);
        if (typeof v === "string") {
          o.logger.warn(`state file ${path}: skipping an endpoint of ${name}: ${v}`);
        } else ok.push({ ...v, origin: `state file ${path}` });
      }
      store.#entries.set(name, { endpoints: ok, savedAt });
      store.#written.set(name, savedAt);
    }
    o.logger.info(`loaded last known endpoints of ${store.#entries.size} source(s) from ${path}`);
    return store;
  }

  /** Why the file found at start-up could not be used, until it is written again. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** For /health: degraded while the file found at start-up is unusable. */
  health(): HealthCheckResult {
    if (this.#problem === undefined) return { level: "ok", lines: [] };
    return {
      level: "degraded",
      lines: [
        `state file ${this.path} is unusable (${this.#problem}): ignored; ` +
        `it is written again once a source has read its registry`,
      ],
    };
  }

  /** How many times the file was written (each write replaces all of it). */
  get writes(): number {
    return this.#writes;
  }

  /** The saved endpoints of a source, with when they were last known to be current. */
  get(name: string): SavedEndpoints | undefined {
    return this.#entries.get(name);
  }

  /**
   * Records a source's endpoints as current now. Written shortly after when they changed;
   * an unchanged list only refreshes the entry's age, written at most every `refreshMs`.
   * A source passes its unchanged list as the same array: any other array counts as a
   * change (comparing 2,000 endpoints on every re-read would cost more than the write).
   */
  put(name: string, endpoints: readonly Endpoint[]): void {
    const now = this.#o.clock.now();
    const prev = this.#entries.get(name);
    this.#entries.set(name, { endpoints, savedAt: now });
    const writtenAt = this.#written.get(name);
    const changed = prev?.endpoints !== endpoints;
    if (changed || writtenAt === undefined || now - writtenAt >= this.#refreshMs()) {
      this.#dirty = true;
      this.#scheduleFlush();
    }
  }

  /**
   * Lets the store re-confirm a source's entry periodically: `current` returns the
   * source's endpoints while they are known to be current (connected), else `undefined`
   * (the entry then ages as it should).
   *
   * @example
   * ```ts
   * import type { Source } from "./source.ts";
   *
   * function follow(state: EndpointStateStore, source: Source) {
   *   const untrack = state.track(
   *     source.name,
   *     () => source.status?.().healthy ? source.endpoints() : undefined,
   *   );
   *   return untrack;
   * }
   * ```
   */
  track(name: string, current: () => readonly Endpoint[] | undefined): Unsubscribe {
    this.#tracked.set(name, current);
    this.#scheduleRefresh();
    return () => {
      if (this.#tracked.get(name) !== current) return;
      this.#tracked.delete(name);
      if (this.#tracked.size === 0 && this.#refreshTimer !== undefined) {
        this.#o.clock.clearTimeout(this.#refreshTimer);
        this.#refreshTimer = undefined;
      }
    };
  }

  #refreshMs(): number {
    return this.#o.refreshMs ?? Math.min(3_600_000, (this.#o.maxAgeSeconds * 1000) / 4);
  }

  #scheduleFlush(): void {
    // After stop(), only an explicit flush() writes.
    if (this.#flushTimer !== undefined || this.#stopped) return;
    const { clock } = this.#o;
    const next = (this.#wroteAt ?? -Infinity) + (this.#o.minWriteIntervalMs ?? 1000);
    const delay = Math.max(this.#o.flushDelayMs ?? 500, next - clock.now());
    this.#flushTimer = clock.setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush();
    }, delay);
  }

  #scheduleRefresh(): void {
    if (this.#refreshTimer !== undefined || this.#stopped) return;
    this.#refreshTimer = this.#o.clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      for (const [name, current] of this.#tracked) {
        const eps = current();
        if (eps) this.put(name, eps);
      }
      if (this.#tracked.size > 0) this.#scheduleRefresh();
    }, this.#refreshMs());
  }

  /**
   * Writes now if anything is pending; resolves once what was recorded before the call is
   * on disk (a write already under way may hold older data: it is awaited, then the
   * newest is written).
   */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (!this.#dirty) return;
    this.#dirty = false;
    this.#wroteAt = this.#o.clock.now();
    this.#writes++;
    // Entries too old to be loaded again (sources gone from the config, renamed, or cut
    // off for longer than the max age) are dropped rather than carried forever.
    const now = this.#o.clock.now();
    for (const [n, e] of this.#entries) {
      if (now - e.savedAt > this.#o.maxAgeSeconds * 1000) {
        this.#entries.delete(n);
        this.#written.delete(n);
      }
    }
    const body: FileFormat = {
      version: 2,
      writtenAt: now,
      sources: Object.fromEntries(
        [...this.#entries].map((
          [n, e],
        ) => [n, { savedAt: e.savedAt, endpoints: e.endpoints.map(stored) }]),
      ),
    };
    const savedAts = [...this.#entries].map(([n, e]) => [n, e.savedAt] as const);
    this.#writing = (async () => {
      try {
        await Deno.mkdir(dirname(this.path), { recursive: true });
        const tmp = `${this.path}.${Deno.pid}.tmp`;
        await Deno.writeTextFile(tmp, JSON.stringify(body));
        await Deno.rename(tmp, this.path);
        for (const [n, at] of savedAts) this.#written.set(n, at);
        if (this.#problem !== undefined) this.#setProblem(undefined);
      } catch (err) {
        this.#o.logger.error(`cannot write state file ${this.path}`, err);
        this.#dirty = true;
      } finally {
        this.#writing = undefined;
      }
    })();
    await this.#writing;
  }

  /** Cancels the timers and writes what is pending; later `put`s wait for a `flush()`. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#flushTimer !== undefined) this.#o.clock.clearTimeout(this.#flushTimer);
    if (this.#refreshTimer !== undefined) this.#o.clock.clearTimeout(this.#refreshTimer);
    this.#flushTimer = this.#refreshTimer = undefined;
    this.#tracked.clear();
    await this.flush();
  }
}
