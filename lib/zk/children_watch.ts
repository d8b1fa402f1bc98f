/**
 * Watches the children of one znode and their data: the primitive under every
 * ZooKeeper source. Event-driven (a children watch, a data watch per child, or an `exists`
 * watch while the path does not exist yet), coalesced (watch firings during a read cause
 * one more read, not one per event), and resilient: a failed read keeps the last result
 * and is retried on the next (re)connection or after a short delay.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import { isNoNode, type ZkSession } from "./session.ts";

/** What a read found. `children` maps child name to its data (UTF-8). */
export interface ChildrenState {
  readonly exists: boolean;
  readonly children: ReadonlyMap<string, string>;
}

export interface ChildrenWatchOptions {
  /** Which children to read (e.g. names starting with `member_`). */
  readonly filter: (name: string) => boolean;
  readonly onUpdate: (state: ChildrenState) => void;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Parallel data reads; the client pipelines them over one connection. */
  readonly concurrency?: number;
  /** Delay before retrying a failed read while connected. */
  readonly retryMs?: number;
}

/**
 * @example
 * ```ts
 * const w = new ChildrenWatch(session, "/aurora/r/e/j", { filter: (n) => n.startsWith("member_"), onUpdate, clock, logger });
 * w.start();
 * ```
 */
export class ChildrenWatch {
  readonly path: string;
  readonly #session: ZkSession;
  readonly #o: ChildrenWatchOptions;
  #data = new Map<string, string>();
  /** The session generation `#data` was read (and its data watches set) on. */
  #dataGeneration = 0;
  /** Children whose data watch fired: their cached data is no longer current. */
  #stale = new Set<string>();
  /** One watcher per child, so a re-read does not register a second one. */
  #dataWatchers = new Map<string, () => void>();
  #reading = false;
  #again = false;
  #stopped = false;
  #retry?: TimerId;
  #unsubscribe?: Unsubscribe;
  #reads = 0;
  #failure?: string;
  readonly #watcher = () => {
    // Step timestamps for bench/discovery's breakdown (debug level: off in production).
    this.#o.logger.debug(`trace watch ${this.path} t=${this.#o.clock.now().toFixed(2)}`);
    this.#session.touch();
    void this.#read();
  };

  constructor(session: ZkSession, path: string, opts: ChildrenWatchOptions) {
    this.#session = session;
    this.path = path;
    this.#o = opts;
  }

  /** Number of completed reads (for tests of coalescing). */
  get reads(): number {
    return this.#reads;
  }

  /** Why the last read failed, until a read succeeds. */
  get failure(): string | undefined {
    return this.#failure;
  }

  start(): void {
    this.#stopped = false;
    this.#unsubscribe = this.#session.onConnect(() => void this.#read());
    if (this.#session.state === "connected") void this.#read();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#retry !== undefined) this.#o.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  async #read(): Promise<void> {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      do {
        this.#again = false;
        const state = await this.#readOnce();
        if (this.#stopped) return;
        // Created while being read: not a state worth reporting; the next pass reads it.
        if (state === undefined) continue;
        this.#reads++;
        this.#failure = undefined;
        this.#o.logger.debug(
          `trace read ${this.path} children=${state.children.size} t=${
            this.#o.clock.now().toFixed(2)
          }`,
        );
        this.#o.onUpdate(state);
      } while (this.#again && !this.#stopped);
    } catch (err) {
      if (this.#stopped) return;
      this.#failure = err instanceof Error ? err.message : String(err);
      this.#o.logger.warn(`reading ${this.path} failed, keeping last known members`, err);
      if (this.#session.state === "connected" && this.#retry === undefined) {
        this.#retry = this.#o.clock.setTimeout(() => {
          this.#retry = undefined;
          void this.#read();
        }, this.#o.retryMs ?? 1000);
      }
    } finally {
      this.#reading = false;
    }
  }

  #dataWatcher(name: string): () => void {
    let w = this.#dataWatchers.get(name);
    if (!w) {
      w = () => {
        this.#session.touch();
        this.#stale.add(name);
        void this.#read();
      };
      this.#dataWatchers.set(name, w);
    }
    return w;
  }

  async #readOnce(): Promise<ChildrenState | undefined> {
    const generation = this.#session.generation;
    if (generation !== this.#dataGeneration) {
      // A new session has none of the old data watches: read (and watch) every child again.
      this.#data = new Map();
      this.#dataWatchers.clear();
      this.#stale.clear();
      this.#dataGeneration = generation;
    }
    const stale = this.#stale;
    this.#stale = new Set();
    try {
      return await this.#readChildren(stale);
    } catch (err) {
      // Still stale: the retry must read them again.
      for (const n of stale) this.#stale.add(n);
      throw err;
    }
  }

  /** The children and their data; undefined when the path appeared during the read. */
  async #readChildren(stale: ReadonlySet<string>): Promise<ChildrenState | undefined> {
    let names: string[];
    try {
      names = await this.#session.getChildren(this.path, this.#watcher);
    } catch (err) {
      if (!isNoNode(err)) throw err;
      // Not there (yet, or any more): watch for its creation.
      const created = await this.#session.exists(this.path, this.#watcher);
      this.#data = new Map();
      this.#dataWatchers.clear();
      if (created) {
        // Created between the two calls: reporting "no members" now would empty the
        // route for a moment; read it again instead.
        this.#again = true;
        return undefined;
      }
      return { exists: false, children: this.#data };
    }
    const wanted = new Set(names.filter(this.#o.filter));
    const next = new Map<string, string>();
    const missing: string[] = [];
    for (const n of wanted) {
      const d = this.#data.get(n);
      // Cached data stays valid until the child's data watch fires.
      if (d !== undefined && !stale.has(n)) next.set(n, d);
      else missing.push(n);
    }
    for (const n of this.#dataWatchers.keys()) if (!wanted.has(n)) this.#dataWatchers.delete(n);
    const limit = this.#o.concurrency ?? 64;
    for (let i = 0; i < missing.length; i += limit) {
      await Promise.all(
        missing.slice(i, i + limit).map(async (n) => {
          try {
            next.set(n, await this.#session.getData(`${this.path}/${n}`, this.#dataWatcher(n)));
          } catch (err) {
            // Gone between the listing and the read: the children watch reports it.
            if (!isNoNode(err)) throw err;
          }
        }),
      );
    }
    this.#data = new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { exists: true, children: this.#data };
  }
}
