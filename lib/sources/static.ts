/**
 * `StaticProxySource`: one fixed endpoint (`name`, `host`, `port`).
 *
 * @module
 */

import { ListSource } from "./list_source.ts";

export interface StaticSourceOptions {
  name: string;
  host: string;
  port: number;
}

/**
 * @example
 * ```ts
 * const s = new StaticSource({ name: "devnull", host: "127.0.0.1", port: 12345 });
 * s.endpoints(); // [{ host: "127.0.0.1", port: 12345, ports: { default: 12345 } }]
 * ```
 */
export class StaticSource extends ListSource {
  constructor(opts: StaticSourceOptions) {
    super(`static.${opts.name}`, [{
      host: opts.host,
      port: opts.port,
      ports: { default: opts.port },
    }]);
  }
}
