/**
 * A {@linkcode ProxyApp} over a real nginx whose sources are in-process
 * {@linkcode MutableSource}s (one per configured source, by source name), for tests that
 * drive endpoint changes directly.
 *
 * @module
 */

import { ProxyApp, type ProxyAppOptions } from "../lib/app.ts";
import { systemClock } from "../lib/clock.ts";
import { parseConfig } from "../lib/kinds.ts";
import { memoryLogger } from "../lib/log.ts";
import { CheckScheduler } from "../lib/share/health/scheduler.ts";
import { adjusterFactory } from "../lib/share/kinds.ts";
import type { TestNginx } from "./nginx.ts";
import { MutableSource } from "./mutable_source.ts";

export interface TestApp {
  readonly app: ProxyApp;
  /** The mutable source behind each static source name. */
  readonly sources: Map<string, MutableSource>;
  readonly logger: ReturnType<typeof memoryLogger>;
}

/**
 * Builds an app from a JSON config (static sources become mutable sources holding their
 * configured port) applying to `nginx`.
 */
export function testApp(
  nginx: TestNginx,
  rawConfig: unknown,
  opts: Partial<ProxyAppOptions> = {},
): TestApp {
  const config = parseConfig(rawConfig);
  const logger = memoryLogger();
  const sources = new Map<string, MutableSource>();
  const scheduler = new CheckScheduler({ clock: systemClock });
  const app = new ProxyApp(config, {
    clock: systemClock,
    logger,
    metrics: nginx.metrics,
    backend: nginx.backend,
    createSource: (c) => {
      if (c.kind !== "static") throw new Error("testApp supports static sources only");
      const s = new MutableSource(`static.${c.name}`, [c.port]);
      sources.set(c.name, s);
      return s;
    },
    createAdjuster: (a) => adjusterFactory(a, { clock: systemClock, scheduler, logger }),
  }, {
    updatePeriodSeconds: 1,
    minIntervalSeconds: 0,
    weightAdjustmentDelaySeconds: 0,
    ...opts,
  });
  return { app, sources, logger };
}

/** A one-route config on `port` with one static source per entry of `sources` (name → port). */
export function routeConfig(
  port: number,
  sources: Record<string, number>,
  extra: Record<string, unknown> = {},
) {
  return {
    backend: "nginx",
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        sources: Object.entries(sources).map(([name, p]) => ({
          source_class: "static",
          name,
          host: "127.0.0.1",
          port: p,
        })),
        ...extra,
      }],
    }],
  };
}
