/**
 * A source over a list held in memory: the static source (a list of one) and sources fed
 * by an API or a test set it; `set` replaces the list and signals the change (not while
 * stopped: a stopped source is silent, as the source contract requires).
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
  #stopped = false;

  constructor(name: string, endpoints: readonly Endpoint[]) {
    this.name = name;
    this.#endpoints = Object.freeze([...endpoints]);
  }

  start(): Promise<void> {
    this.#stopped = false;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return Promise.resolve();
  }

  endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  onChange(fn: () => void): Unsubscribe {
    return this.#changed.subscribe(fn);
  }

  /** Replaces the endpoints and signals the change (silently once stopped). */
  set(endpoints: readonly Endpoint[]): void {
    this.#endpoints = Object.freeze([...endpoints]);
    if (!this.#stopped) this.#changed.emit();
  }
}
