/**
 * The metrics side of `run` and `run_replay`, built once in the wiring: build info, the
 * process' metrics, nginx's stub_status (with `stats_port`), the update histograms, and the
 * publisher of `--metric-publisher-class` with its shutdown step (the last period is sent
 * in the `flush` phase, bounded). `refresh` brings the polled values up to date before a
 * scrape or a publish.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { ShutdownSequence } from "../lifecycle/shutdown.ts";
import type { Logger } from "../log.ts";
import { NginxStats } from "../metrics/nginx_stats.ts";
import { ProcessMetrics } from "../metrics/process_metrics.ts";
import { createPublisher, type PublisherConfig } from "../metrics/publishers/classes.ts";
import { PublishLoop } from "../metrics/publishers/publisher.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { UpdateTiming } from "../observability/update_timing.ts";
import type { PipelineListener } from "../pipeline/listener.ts";
import type { Source } from "../sources/source.ts";
import { VERSION } from "../version.ts";

/** Bound of a publish; the last one at shutdown gets {@linkcode FINAL_PUBLISH_MS}. */
const PUBLISH_MS = 5000;
const FINAL_PUBLISH_MS = 3000;

export interface MetricsWiringOptions {
  readonly metrics: MetricsRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly shutdown: ShutdownSequence;
  /** `--metric-publisher-class` and its arguments, validated. */
  readonly publisher?: PublisherConfig;
  /** nginx's `stats_port`, when the config sets it. */
  readonly statsPort?: number;
  /** The proxy's own statistics, polled before each scrape (HAProxy's `show stat`). */
  readonly backendStats?: { poll(): Promise<boolean> };
  /** Synchronous refreshers to run before each read (ZooKeeper session gauges). */
  readonly refreshers?: readonly (() => void)[];
  /** The proxy's pipeline, for the update histograms (not in `run_replay`). */
  readonly pipeline?: {
    readonly sources: readonly Source[];
    addListener(l: PipelineListener): unknown;
  };
}

/** What the wiring hands on. */
export interface MetricsWiring {
  /** Before a scrape or a publish; never rejects. */
  refresh(): Promise<void>;
  /** Starts publishing (once the proxy is up). */
  start(): void;
  /**
   * Times the updates of a pipeline (the histograms); `run` attaches each graph it runs,
   * the one a SIGHUP builds too.
   */
  attach(pipeline: NonNullable<MetricsWiringOptions["pipeline"]>): void;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { ShutdownSequence } from "../lifecycle/shutdown.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const logger = memoryLogger();
 * const metrics = new MetricsRegistry("aurproxy");
 * const shutdown = new ShutdownSequence({ logger });
 * const wiring = wireMetrics({ metrics, clock: systemClock, logger, shutdown });
 * await wiring.refresh(); // what the management server's refreshMetrics calls
 * wiring.start(); // publishing, when a publisher is configured
 * await shutdown.run("example"); // sends the last period (flush phase)
 * ```
 */
export function wireMetrics(o: MetricsWiringOptions): MetricsWiring {
  const log = o.logger.child("metrics");
  // As Prometheus' own *_build_info carry the Go version: the runtime is part of the build.
  o.metrics.set("build_info", "aurproxy's version and its Deno runtime's; always 1.", 1, {
    version: VERSION,
    deno: Deno.version.deno,
  });
  const proc = new ProcessMetrics(o.metrics);
  const nginx = o.statsPort === undefined
    ? undefined
    : new NginxStats({ port: o.statsPort, metrics: o.metrics, logger: log });
  let timing: UpdateTiming | undefined;
  const attach = (pipeline: NonNullable<MetricsWiringOptions["pipeline"]>) => {
    const t = timing ??= new UpdateTiming({ clock: o.clock, metrics: o.metrics });
    pipeline.addListener(t);
    for (const s of pipeline.sources) s.onChange(() => t.sourceChanged());
  };
  if (o.pipeline) attach(o.pipeline);
  const refresh = async () => {
    for (const r of o.refreshers ?? []) {
      try {
        r();
      } catch (err) {
        log.warn("refreshing metrics failed", err);
      }
    }
    await Promise.all([proc.collect(), nginx?.poll(), o.backendStats?.poll()]);
  };
  let loop: PublishLoop | undefined;
  if (o.publisher) {
    const publisher = createPublisher(o.publisher, {
      hostname: hostname(),
      pid: Deno.pid,
      userAgent: `aurproxy/${VERSION}`,
    });
    loop = new PublishLoop({
      publisher,
      metrics: o.metrics,
      clock: o.clock,
      logger: log,
      refresh,
      timeoutMs: Math.min(publisher.periodSeconds * 1000, PUBLISH_MS),
    });
    const l = loop;
    o.shutdown.add(
      "flush",
      `metric publisher (${publisher.name})`,
      () => l.flush(FINAL_PUBLISH_MS),
      {
        timeoutMs: PUBLISH_MS + FINAL_PUBLISH_MS + 1000,
      },
    );
  }
  return {
    refresh,
    start: () => loop?.start(),
    attach,
  };
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
