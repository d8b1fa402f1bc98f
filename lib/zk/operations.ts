/**
 * The ZooKeeper operations aurproxy uses, typed over the library's callbacks. Each goes
 * through the owner's `run`, which bounds it and sends it on whichever client is current
 * (see `ZkSession`), so this file holds only what each operation asks and returns.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { ClientCall } from "./bounded_call.ts";
import type { Watcher } from "./client.ts";
import type { ZkNodeData } from "./reader.ts";

/**
 * @example
 * ```ts
 * import type { ClientCall } from "./bounded_call.ts";
 *
 * class Direct extends ZkOperations {
 *   protected run<T>(_what: string, _fn: ClientCall<T>): Promise<T> {
 *     return Promise.reject(new Error("no client in this example"));
 *   }
 * }
 * new Direct().exists("/aurora").catch(() => {});
 * ```
 */
export abstract class ZkOperations {
  /** Sends one operation (`what` names it in errors) on the current client, bounded. */
  protected abstract run<T>(what: string, fn: ClientCall<T>): Promise<T>;

  /** The children's names; the watcher fires once when they change or the node goes. */
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.run(`getChildren ${path}`, (c, cb) => c.getChildren(path, watcher, cb));
  }

  /** True when the node exists; the watcher fires when it is created or deleted. */
  async exists(path: string, watcher?: Watcher): Promise<boolean> {
    const stat = await this.run<unknown>(
      `exists ${path}`,
      (c, cb) => c.exists(path, watcher, cb),
    );
    return stat !== null && stat !== undefined;
  }

  /** The node's data as UTF-8; the watcher fires once when it changes or the node goes. */
  async getData(path: string, watcher?: Watcher): Promise<string> {
    return (await this.getNode(path, watcher)).data;
  }

  /**
   * The node's data as UTF-8 and its version (the zxid of its last write, in hex); the
   * watcher fires once when it changes or the node goes.
   */
  getNode(path: string, watcher?: Watcher): Promise<ZkNodeData> {
    return this.run(
      `getData ${path}`,
      (c, cb) =>
        c.getData(path, watcher, (err, data, stat) =>
          cb(err, {
            data: data ? data.toString("utf8") : "",
            version: stat?.mzxid ? stat.mzxid.toString("hex") : "",
          })),
    );
  }

  /** Replaces the node's data (any version). */
  async setData(path: string, data: string): Promise<void> {
    await this.run(`setData ${path}`, (c, cb) => c.setData(path, Buffer.from(data), -1, cb));
  }

  /** Creates the node and any missing parents (persistent, empty); returns its path. */
  mkdirp(path: string): Promise<string> {
    return this.run(`mkdirp ${path}`, (c, cb) => c.mkdirp(path, cb));
  }

  /** Creates a node; `mode` is one of `zk.CreateMode`. Returns the created path. */
  create(path: string, data: string, mode: number): Promise<string> {
    return this.run(`create ${path}`, (c, cb) => c.create(path, Buffer.from(data), mode, cb));
  }

  /** Deletes the node (any version). */
  remove(path: string): Promise<void> {
    return this.run(`remove ${path}`, (c, cb) => c.remove(path, -1, cb));
  }
}
