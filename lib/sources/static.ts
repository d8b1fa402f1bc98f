/**
 * `StaticProxySource`: one fixed endpoint (`name`, `host`, `port`).
 *
 * @module
 */

import type { Endpoint } from "../endpoint.ts";
import { ChangeSignal, type Unsubscribe } from "../signal.ts";
import type { Source } from "./source.ts";

export interface StaticSourceOptions {
  name: string;
  host: string;
  port: number;
}

/**
 * @example
 * ```ts
 * const s = new StaticSource({ name: "devnull", host: "127.0.0.1", port: 12345 });
 * await s.start();
 * s.endpoints(); // [{ host: "127.0.0.1", port: 12345, ports: { default: 12345 } }]
 * ```
 */
export class StaticSource implements Source {
  readonly name: string;
  readonly #endpoints: readonly Endpoint[];
  readonly #changed = new ChangeSignal();

  constructor(opts: StaticSourceOptions) {
    this.name = `static.${opts.name}`;
    this.#endpoints = Object.freeze([
      Object.freeze({ host: opts.host, port: opts.port, ports: { default: opts.port } }),
    ]);
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
}
