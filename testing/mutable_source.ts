/**
 * A source whose endpoints a test sets directly: drives the updater in-process through
 * the real {@linkcode Source} interface, where the ZooKeeper tests use a real registry.
 *
 * @module
 */

import { ListSource } from "../lib/sources/list_source.ts";

export class MutableSource extends ListSource {
  constructor(name: string, ports: readonly number[] = [], host = "127.0.0.1") {
    super(name, ports.map((port) => ({ host, port, ports: { default: port } })));
  }

  /** Replaces the endpoints with `ports` on `host` and signals the change. */
  setPorts(ports: readonly number[], host = "127.0.0.1"): void {
    this.set(ports.map((port) => ({ host, port, ports: { default: port } })));
  }
}
