/**
 * A source whose endpoints a test sets directly: drives the updater in-process through
 * the real {@linkcode Source} interface, where the ZooKeeper tests use a real registry.
 *
 * @module
 */

import type { Endpoint } from "../../lib/endpoint.ts";
import { ChangeSignal, type Unsubscribe } from "../../lib/signal.ts";
import type { Source } from "../../lib/sources/source.ts";

export class MutableSource implements Source {
  readonly name: string;
  #endpoints: readonly Endpoint[];
  readonly #changed = new ChangeSignal();

  constructor(name: string, ports: readonly number[] = [], host = "127.0.0.1") {
    this.name = name;
    this.#endpoints = ports.map((port) => ({ host, port, ports: { default: port } }));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  onChange(fn: () => void): Unsubscribe {
    return this.#changed.subscribe(fn);
  }

  /** Replaces the endpoints with `ports` on `host` and signals the change. */
  setPorts(ports: readonly number[], host = "127.0.0.1"): void {
    this.#endpoints = ports.map((port) => ({ host, port, ports: { default: port } }));
    this.#changed.emit();
  }
}
