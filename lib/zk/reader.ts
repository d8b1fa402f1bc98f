/**
 * What watching the registry needs of a ZooKeeper session, and no more: list a node's
 * children, read a node's data with its version, ask whether a node exists (each able to
 * set a one-shot watch), and hear about the session's (re)connections. `ZkSession`
 * implements it over the network; tests implement it over an in-memory tree, so the
 * logic of watches and sources runs without a server (the real-server tests stay).
 *
 * Operations reject with a `ZkOpError` (`isNoNode` tells a missing node apart).
 *
 * @module
 */

import type { Unsubscribe } from "../lifecycle/signal.ts";

/** Where a session stands; "expired" lasts only until the new session is built. */
export type ZkState = "connecting" | "connected" | "disconnected" | "expired" | "closed";

/** Fires once, when what it was set on changes (or the session that set it ends). */
export type ZkWatcher = () => void;

/** A node's data and its version. */
export interface ZkNodeData {
  /** The data as UTF-8. */
  readonly data: string;
  /**
   * Changes with every write of the data, and differs between a node and one deleted and
   * created again under the same name (ZooKeeper's zxid of the last write, in hex).
   */
  readonly version: string;
}

/**
 * A session as the registry watches see it.
 *
 * @example
 * ```ts
 * async function members(reader: ZkReader, path: string): Promise<string[]> {
 *   return await reader.getChildren(path, () => console.log(`${path} changed`));
 * }
 * ```
 */
export interface ZkReader {
  /** The ensemble, for logs. */
  readonly connectString: string;
  readonly state: ZkState;
  /** When the current state began (ms). */
  readonly stateSince: number;
  /**
   * Which session is current, counting from 1: when this changes, every watch set before
   * is gone and must be set again.
   */
  readonly generation: number;
  /** Called on every (re)connection; the subscriber should re-read and re-watch. */
  onConnect(fn: () => void): Unsubscribe;
  /** Records a watch firing as a sign of life. */
  touch(): void;
  /** The children's names; the watcher fires once when they change or the node goes. */
  getChildren(path: string, watcher?: ZkWatcher): Promise<string[]>;
  /** The node's data and version; the watcher fires once when it changes or the node goes. */
  getNode(path: string, watcher?: ZkWatcher): Promise<ZkNodeData>;
  /** True when the node exists; the watcher fires when it is created, changed or deleted. */
  exists(path: string, watcher?: ZkWatcher): Promise<boolean>;
}

/**
 * The sessions by ensemble (`ZkSessions`, or an in-memory registry in tests).
 *
 * @example
 * ```ts
 * function readerFor(readers: ZkReaders): ZkReader {
 *   return readers.get("zk1:2181,zk2:2181");
 * }
 * ```
 */
export interface ZkReaders {
  /** The session for this connect string (hosts in any order name the same ensemble). */
  get(connectString: string): ZkReader;
}
