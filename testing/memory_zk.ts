/**
 * An in-memory ZooKeeper tree behind aurproxy's own narrow {@linkcode ZkReader}
 * interface, for fast unit tests of the logic over it (children watches, registry
 * sources). It keeps ZooKeeper's semantics where that logic depends on them: one-shot
 * watches, a version that changes with every write, notifications held while
 * disconnected and delivered on reconnection, and every watch lost when the session
 * expires. It is no stand-in for the server itself: the integration tests run a real one.
 *
 * @module
 */

import { ChangeSignal, type Unsubscribe } from "../lib/lifecycle/signal.ts";
import { NO_NODE, NODE_EXISTS } from "../lib/zk/client.ts";
import { ZkOpError } from "../lib/zk/op_error.ts";
import type { ZkNodeData, ZkReader, ZkReaders, ZkState, ZkWatcher } from "../lib/zk/reader.ts";
import { normalizeEnsemble } from "../lib/zk/sessions.ts";

/** The reads a test can count, fail or hold. */
export type ReadOp = "getChildren" | "getNode" | "exists";

interface Node {
  data: string;
  version: string;
}

const parentOf = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";

/**
 * The tree (what other clients write) and the sessions reading it, one per ensemble.
 *
 * @example
 * ```ts
 * const zk = new MemoryZk();
 * zk.create("/sd/web/member_0000000001", '{"serviceEndpoint":{"host":"10.0.0.1","port":80},"status":"ALIVE"}');
 * const reader = zk.get("zk:2181"); // connected
 * await reader.getChildren("/sd/web"); // ["member_0000000001"]
 * ```
 */
export class MemoryZk implements ZkReaders {
  readonly #nodes = new Map<string, Node>([["/", { data: "", version: "0" }]]);
  readonly #sessions = new Map<string, MemoryZkSession>();
  #zxid = 0;
  /** Run before each read is answered; a test may write to the tree meanwhile. */
  beforeReply?: (op: ReadOp, path: string) => void | Promise<void>;
  /** The time sessions' `stateSince` is read from (a fake clock's, in tests that use one). */
  readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? (() => Date.now());
  }

  /** The session for this ensemble (created connected). */
  get(connectString: string): MemoryZkSession {
    const key = normalizeEnsemble(connectString);
    let s = this.#sessions.get(key);
    if (!s) {
      s = new MemoryZkSession(key, this);
      this.#sessions.set(key, s);
    }
    return s;
  }

  /** Creates a node, its missing parents (empty) included. */
  create(path: string, data = ""): void {
    if (this.#nodes.has(path)) throw new ZkOpError(`create ${path}: node exists`, NODE_EXISTS);
    const parent = parentOf(path);
    if (!this.#nodes.has(parent)) this.create(parent);
    this.#nodes.set(path, { data, version: this.#nextVersion() });
    this.#notify("exists", path);
    this.#notify("children", parent);
  }

  /** Replaces a node's data. */
  setData(path: string, data: string): void {
    const node = this.#nodes.get(path);
    if (!node) throw new ZkOpError(`setData ${path}: no node`, NO_NODE);
    node.data = data;
    node.version = this.#nextVersion();
    this.#notify("data", path);
  }

  /** Deletes a node (which, as in ZooKeeper, must have no children). */
  remove(path: string): void {
    if (!this.#nodes.has(path)) throw new ZkOpError(`remove ${path}: no node`, NO_NODE);
    if (this.children(path)!.length) throw new Error(`remove ${path}: not empty`);
    this.#nodes.delete(path);
    this.#notify("data", path);
    this.#notify("children", path);
    this.#notify("children", parentOf(path));
  }

  /** The data of a node, or undefined. */
  read(path: string): Node | undefined {
    const n = this.#nodes.get(path);
    return n && { ...n };
  }

  /** The children's names of a node (undefined when it does not exist). */
  children(path: string): string[] | undefined {
    if (!this.#nodes.has(path)) return undefined;
    const prefix = path === "/" ? "/" : `${path}/`;
    const out: string[] = [];
    for (const p of this.#nodes.keys()) {
      if (p !== "/" && p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) {
        out.push(p.slice(prefix.length));
      }
    }
    // The server lists children in no particular order.
    return out.reverse();
  }

  #nextVersion(): string {
    return (++this.#zxid).toString(16);
  }

  #notify(kind: "exists" | "data" | "children", path: string): void {
    for (const s of this.#sessions.values()) s.trigger(kind, path);
  }
}

type WatchKind = "exists" | "data" | "children";

/** One session: its state, its watches and the reads it answered. */
export class MemoryZkSession implements ZkReader {
  readonly connectString: string;
  readonly #zk: MemoryZk;
  readonly #connected = new ChangeSignal();
  #state: ZkState = "connected";
  #stateSince: number;
  #generation = 1;
  #touches = 0;
  readonly #watches: Record<WatchKind, Map<string, Set<ZkWatcher>>> = {
    exists: new Map(),
    data: new Map(),
    children: new Map(),
  };
  /** Notifications held while disconnected. */
  #held: ZkWatcher[] = [];
  readonly #failures: { op: ReadOp; path?: string; err: ZkOpError }[] = [];
  /** Reads answered (or failed), by kind. */
  readonly calls: Record<ReadOp, number> = { getChildren: 0, getNode: 0, exists: 0 };

  constructor(connectString: string, zk: MemoryZk) {
    this.connectString = connectString;
    this.#zk = zk;
    this.#stateSince = zk.now();
  }

  get state(): ZkState {
    return this.#state;
  }

  get stateSince(): number {
    return this.#stateSince;
  }

  get generation(): number {
    return this.#generation;
  }

  /** How many watch firings were recorded as signs of life. */
  get touches(): number {
    return this.#touches;
  }

  /** Watches set and not fired yet, all kinds together. */
  get watchCount(): number {
    let n = 0;
    for (const m of Object.values(this.#watches)) for (const s of m.values()) n += s.size;
    return n;
  }

  onConnect(fn: () => void): Unsubscribe {
    return this.#connected.subscribe(fn);
  }

  touch(): void {
    this.#touches++;
  }

  /** The connection drops; the session (and its watches) survive. */
  disconnect(): void {
    this.#setState("disconnected");
  }

  /** Back on the same session: what changed meanwhile is notified now. */
  reconnect(): void {
    this.#setState("connected");
    this.#connected.emit();
    for (const w of this.#held.splice(0)) w();
  }

  /** The session expires and a new one is built: every watch is gone. */
  expire(): void {
    this.#setState("expired");
    for (const m of Object.values(this.#watches)) m.clear();
    this.#held = [];
    this.#generation++;
    this.reconnect();
  }

  /** The next `op` (on `path`, if given) fails with `err`. */
  failNext(op: ReadOp, err: ZkOpError, path?: string): void {
    this.#failures.push({ op, path, err });
  }

  /** Fires (once) the watches of `kind` on `path`. */
  trigger(kind: WatchKind, path: string): void {
    const kinds: WatchKind[] = kind === "children" ? ["children"] : ["data", "exists"];
    for (const k of kinds) {
      const set = this.#watches[k].get(path);
      if (!set) continue;
      this.#watches[k].delete(path);
      for (const w of set) {
        if (this.#state === "connected") queueMicrotask(w);
        else this.#held.push(w);
      }
    }
  }

  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]> {
    return this.#answer("getChildren", path, () => {
      const names = this.#zk.children(path);
      if (!names) throw new ZkOpError(`getChildren ${path}: no node`, NO_NODE);
      if (watcher) this.#watch("children", path, watcher);
      return names;
    });
  }

  getNode(path: string, watcher?: ZkWatcher): Promise<ZkNodeData> {
    return this.#answer("getNode", path, () => {
      const node = this.#zk.read(path);
      if (!node) throw new ZkOpError(`getData ${path}: no node`, NO_NODE);
      if (watcher) this.#watch("data", path, watcher);
      return node;
    });
  }

  exists(path: string, watcher?: ZkWatcher): Promise<boolean> {
    return this.#answer("exists", path, () => {
      if (watcher) this.#watch("exists", path, watcher);
      return this.#zk.read(path) !== undefined;
    });
  }

  #setState(s: ZkState): void {
    if (s !== this.#state) this.#stateSince = this.#zk.now();
    this.#state = s;
  }

  #watch(kind: WatchKind, path: string, w: ZkWatcher): void {
    let set = this.#watches[kind].get(path);
    if (!set) this.#watches[kind].set(path, set = new Set());
    set.add(w);
  }

  async #answer<T>(op: ReadOp, path: string, fn: () => T): Promise<T> {
    this.calls[op]++;
    await this.#zk.beforeReply?.(op, path);
    await Promise.resolve(); // answers arrive later than the call, as over a network
    if (this.#state !== "connected") {
      throw new ZkOpError(`no answer from ${this.connectString} (${this.#state})`, "timeout");
    }
    const i = this.#failures.findIndex((f) => f.op === op && (!f.path || f.path === path));
    if (i >= 0) throw this.#failures.splice(i, 1)[0].err;
    return fn();
  }
}
