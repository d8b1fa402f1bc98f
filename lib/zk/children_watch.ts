/**
 * Watches the children of one znode and their data: the primitive under every
 * ZooKeeper source. Event-driven (a children watch, a data watch per child, or an `exists`
 * watch while the path does not exist yet), coalesced (watch firings during a read cause
 * one more read, not one per event), and resilient: a failed read keeps the last result
 * and is retried on the next (re)connection or after a short delay.
 *
 * Work follows what changed: a child's data is read when the child appears and again
 * only when its data watch fires, and the children are listed again only when their
 * watch fired (or on a reconnection), so a member whose status flips costs one read.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import { isNoNode } from "./op_error.ts";
import type { ZkNodeData, ZkReader } from "./reader.ts";

/** What a read found. */
export interface ChildrenState {
  readonly exists: boolean;
  /**
   * Child name → its data and version, in name order. The watch's own map, updated in
   * place by later reads: read it in `onUpdate`, copy what must be kept.
   */
  readonly children: ReadonlyMap<string, ZkNodeData>;
}

/** What to watch for, whom to tell, and how to pace the reads. */
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

const byName = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 * import type { ZkReader } from "./reader.ts";
 *
 * function watchJob(reader: ZkReader) {
 *   const w = new ChildrenWatch(reader, "/aurora/r/e/j", {
 *     filter: (n) => n.startsWith("member_"),
 *     onUpdate: (s) => console.log(`${s.children.size} members`),
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *   });
 *   w.start();
 *   return () => w.stop();
 * }
 * ```
 */
export class ChildrenWatch {
  readonly path: string;
  readonly #reader: ZkReader;
  readonly #o: ChildrenWatchOptions;
  #data = new Map<string, ZkNodeData>();
  /** The session generation `#data` was read (and its data watches set) on. */
  #dataGeneration = 0;
  /** Children whose data watch fired: their cached data is no longer current. */
  #stale = new Set<string>();
  /** One watcher per child, so a re-read does not register a second one. */
  #dataWatchers = new Map<string, () => void>();
  /**
   * True while `#data`'s names are the current listing: the children watch set with it
   * has not fired since, on this session. Counted events tell a firing during the
   * listing apart from one before it.
   */
  #listed = false;
  #childEvents = 0;
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
    this.#o.logger.debug(`zk event: children of ${this.path} changed`);
    this.#reader.touch();
    this.#childEvents++;
    this.#listed = false;
    void this.#read();
  };

  constructor(reader: ZkReader, path: string, opts: ChildrenWatchOptions) {
    this.#reader = reader;
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

  /** Reads now if connected, and again on every (re)connection, until `stop()`. */
  start(): void {
    this.#stopped = false;
    this.#unsubscribe = this.#reader.onConnect(() => {
      // Watches are set again by the client on a reconnection, but listing once more is
      // cheap insurance against a change the server did not report.
      this.#listed = false;
      void this.#read();
    });
    if (this.#reader.state === "connected") void this.#read();
  }

  /** Stops reading; no `onUpdate` after this. */
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
      if (this.#reader.state === "connected" && this.#retry === undefined) {
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
        this.#o.logger.debug(`zk event: data of ${this.path}/${name} changed`);
        this.#reader.touch();
        this.#stale.add(name);
        void this.#read();
      };
      this.#dataWatchers.set(name, w);
    }
    return w;
  }

  async #readOnce(): Promise<ChildrenState | undefined> {
    const generation = this.#reader.generation;
    if (generation !== this.#dataGeneration) {
      // A new session has none of the old watches: list and read (and watch) every child again.
      this.#forget();
      this.#dataGeneration = generation;
    }
    const stale = this.#stale;
    this.#stale = new Set();
    try {
      return await this.#readChildren(stale);
    } catch (err) {
      // Still stale: the retry must read them again, and list again, for the new children
      // whose data was not read.
      for (const n of stale) this.#stale.add(n);
      this.#listed = false;
      throw err;
    }
  }

  #forget(): void {
    this.#data = new Map();
    this.#dataWatchers.clear();
    this.#stale.clear();
    this.#listed = false;
  }

  /** The children and their data; undefined when the path appeared during the read. */
  async #readChildren(stale: ReadonlySet<string>): Promise<ChildrenState | undefined> {
    let names: Iterable<string> | undefined;
    if (!this.#listed) {
      const events = this.#childEvents;
      let listing: string[];
      try {
        listing = await this.#reader.getChildren(this.path, this.#watcher);
      } catch (err) {
        if (!isNoNode(err)) throw err;
        // Not there (yet, or any more): watch for its creation.
        const created = await this.#reader.exists(this.path, this.#watcher);
        this.#forget();
        if (created) {
          // Created between the two calls: reporting "no members" now would empty the
          // route for a moment; read it again instead.
          this.#again = true;
          return undefined;
        }
        return { exists: false, children: this.#data };
      }
      // A firing while the listing was on its way may be about a change it does not show.
      this.#listed = this.#childEvents === events;
      names = listing.filter(this.#o.filter);
    }
    // Without a new listing the names are the cached ones: only stale data is read.
    const missing: string[] = [];
    let membership = false;
    let vanished = false;
    if (names) {
      const wanted = new Set(names);
      for (const n of this.#data.keys()) {
        if (!wanted.has(n)) {
          this.#data.delete(n);
          this.#dataWatchers.delete(n);
          membership = true;
        }
      }
      // Cached data stays valid until the child's data watch fires.
      for (const n of wanted) if (!this.#data.has(n) || stale.has(n)) missing.push(n);
    } else {
      for (const n of stale) if (this.#data.has(n)) missing.push(n);
    }
    const limit = this.#o.concurrency ?? 64;
    for (let i = 0; i < missing.length; i += limit) {
      await Promise.all(
        missing.slice(i, i + limit).map(async (n) => {
          try {
            const node = await this.#reader.getNode(`${this.path}/${n}`, this.#dataWatcher(n));
            if (!this.#data.has(n)) membership = true;
            this.#data.set(n, node);
          } catch (err) {
            // Gone between the listing and the read: the children watch reports it.
            if (!isNoNode(err)) throw err;
            if (this.#data.delete(n)) membership = true;
            this.#dataWatchers.delete(n);
            vanished = true;
          }
        }),
      );
    }
    if (vanished && !names) {
      // A child whose data watch fired is gone: its siblings may be gone with it (a job
      // killed, a path removed), and the cached names would report a list that no longer
      // exists, one member at a time. List again first.
      this.#listed = false;
      this.#again = true;
      return undefined;
    }
    // Updating a child in place keeps its position; new ones need sorting in.
    if (membership) this.#data = new Map([...this.#data].sort(byName));
    return { exists: true, children: this.#data };
  }
}
