/**
 * A source over a list held in memory: the static source (a list of one) and sources fed
 * by an API or a test set it; `set` replaces the list and signals the change.
 *
 * @module
 */

import type { Endpoint } from "../model/endpoint.ts";
import { ChangeSignal, type Unsubscribe } from "../lifecycle/signal.ts";
import type { Source } from "./source.ts";

/**
 * @example
 * ```ts
 * const s = new ListSource("api.replay", []);
 * s.set([{ host: "10.0.0.1", port: 80, ports: { default: 80 } }]);
 * ```
 */
export class ListSource implements Source {
  readonly name: string;
  #endpoints: readonly Endpoint[];
  readonly #changed = new ChangeSignal();

  constructor(name: string, endpoints: readonly Endpoint[]) {
    this.name = name;
    this.#endpoints = Object.freeze([...endpoints]);
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

  /** Replaces the endpoints and signals the change. */
  set(endpoints: readonly Endpoint[]): void {
    this.#endpoints = Object.freeze([...endpoints]);
    this.#changed.emit();
  }
}
