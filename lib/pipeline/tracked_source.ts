/**
 * Keeps one set of share adjusters per endpoint of a source: created when the endpoint
 * appears, stopped when it leaves. This is where sources meet adjusters; the weight
 * calculator only ever sees the resulting {@linkcode PoolMember}s.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { type Endpoint, endpointKey } from "../model/endpoint.ts";
import type { Logger } from "../log.ts";
import type { Source } from "../sources/source.ts";
import type { AdjusterFactory, ShareAdjuster } from "../share/adjuster.ts";
import type { PoolMember } from "../model/pool_member.ts";

interface Tracked {
  endpoint: Endpoint;
  adjusters: ShareAdjuster[];
  since: number;
}

export interface TrackedSourceDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called when the source's endpoints or any adjuster's share changed. */
  readonly onChange: () => void;
}

/**
 * @example
 * ```ts
 * import { systemClock as clock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import type { AdjusterFactory } from "../share/adjuster.ts";
 * import { rampAdjuster } from "../share/ramp.ts";
 * import { StaticSource } from "../sources/static.ts";
 *
 * const ramp: AdjusterFactory = (ctx) =>
 *   rampAdjuster({ kind: "ramp", path: "", rampDelay: 0, rampSeconds: 60, updateFrequency: 10, curve: "linear", minShare: 0 }, ctx);
 * const source = new StaticSource({ name: "a", host: "10.0.0.1", port: 80 });
 * const t = new TrackedSource(source, [ramp], { clock, logger: memoryLogger(), onChange: () => {} }); // e.g. updater.markDirty()
 * await t.start();
 * t.members(); // [{ endpoint, source: "static.a", factors: [{ name: "ramp", ... }] }]
 * await t.stop();
 * ```
 */
export class TrackedSource {
  readonly source: Source;
  readonly #factories: readonly AdjusterFactory[];
  readonly #deps: TrackedSourceDeps;
  readonly #tracked = new Map<string, Tracked>();
  #unsubscribe?: () => void;
  #stopped = false;

  constructor(source: Source, factories: readonly AdjusterFactory[], deps: TrackedSourceDeps) {
    this.source = source;
    this.#factories = factories;
    this.#deps = deps;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    this.#unsubscribe = this.source.onChange(() => {
      this.#sync();
      this.#deps.onChange();
    });
    await this.source.start();
    this.#sync();
  }

  /** Stops the source and every adjuster. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    for (const t of this.#tracked.values()) this.#stopAdjusters(t);
    this.#tracked.clear();
    await this.source.stop();
  }

  /** Current endpoints with their adjusters' factors, in the source's order. */
  members(): PoolMember[] {
    return [...this.#tracked.values()].map((t) => ({
      endpoint: t.endpoint,
      source: this.source.name,
      factors: t.adjusters.map((a) => a.current()),
    }));
  }

  /** When each endpoint (by `endpointKey`) was first seen; for the status page. */
  firstSeen(): ReadonlyMap<string, number> {
    return new Map([...this.#tracked].map(([k, t]) => [k, t.since]));
  }

  #sync(): void {
    if (this.#stopped) return;
    const current = new Map<string, Endpoint>();
    for (const e of this.source.endpoints()) current.set(endpointKey(e), e);
    for (const [key, t] of this.#tracked) {
      if (!current.has(key)) {
        this.#stopAdjusters(t);
        this.#tracked.delete(key);
      }
    }
    for (const [key, endpoint] of current) {
      const t = this.#tracked.get(key);
      if (t) {
        // Same instance, maybe new metadata: keep its adjusters (health, ramp progress).
        t.endpoint = endpoint;
        continue;
      }
      const adjusters = this.#factories.map((f) =>
        f({ endpoint, clock: this.#deps.clock, signal: this.#deps.onChange })
      );
      this.#tracked.set(key, { endpoint, adjusters, since: this.#deps.clock.now() });
      for (const a of adjusters) a.start();
    }
  }

  #stopAdjusters(t: Tracked): void {
    for (const a of t.adjusters) {
      try {
        a.stop();
      } catch (err) {
        this.#deps.logger.error(`stopping adjuster of ${endpointKey(t.endpoint)} failed`, err);
      }
    }
  }
}
