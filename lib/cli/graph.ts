/**
 * The object graph of one proxy config: every collaborator `run`, `render` and the
 * benchmarks share (metrics, ZooKeeper sessions, the state file, the health-check
 * scheduler, the backend, the ApiSources, the pipeline), built once and passed down, each
 * adding its shutdown steps as it is made. A SIGHUP builds a new one (`reload.ts`).
 *
 * @module
 */

import { ProxyApp } from "../app.ts";
import type { LiveUpstreams, ProxyBackend } from "../backends/backend.ts";
import { createBackend } from "../backends/table.ts";
import { systemClock } from "../clock.ts";
import { BUILTIN_KINDS } from "../kinds.ts";
import { ShutdownSequence } from "../lifecycle/shutdown.ts";
import type { Logger } from "../log.ts";
import { RouteRegistry } from "../management/routes.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxyConfig } from "../model/config.ts";
import { HostResolver } from "../pipeline/host_resolver.ts";
import { CheckScheduler } from "../share/health/scheduler.ts";
import { adjusterFactory } from "../share/kinds.ts";
import type { ApiSourceHost } from "../sources/api/host.ts";
import type { ManagedSourceFile } from "../sources/api/managed_file.ts";
import { sourceFactory } from "../sources/kinds.ts";
import { EndpointStateStore } from "../sources/state_file.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { apiSourceHost } from "./api_wiring.ts";
import type { RunOptions } from "./run_options.ts";

/**
 * What the live proxy config serves, for sources that cannot read their registry yet; a
 * file that cannot be read is logged and done without.
 */
async function liveUpstreams(backend: ProxyBackend, log: Logger) {
  try {
    return await backend.liveEndpoints?.();
  } catch (err) {
    log.warn("cannot read back the live proxy config; starting without it", err);
    return undefined;
  }
}

/** What {@linkcode buildGraph} reads of the run options. */
type GraphOptions = Omit<
  RunOptions,
  | "configArg"
  | "managementPort"
  | "managementHost"
  | "lifecycleAllow"
  | "setup"
  | "supervise"
  | "logLevel"
>;

/** The object graph shared by `run`, `render` and the benchmarks. */
export interface Graph {
  readonly config: ProxyConfig;
  readonly app: ProxyApp;
  readonly backend: ProxyBackend;
  readonly metrics: MetricsRegistry;
  readonly sessions: ZkSessions;
  /** The state file, when kept. */
  readonly state?: EndpointStateStore;
  /** The shutdown sequence, holding the steps of every part of the graph. */
  readonly shutdown: ShutdownSequence;
  /** Routes features mount on the management port. */
  readonly routes: RouteRegistry;
  /**
   * Runs the shutdown sequence quietly: for a command that built the graph for one job
   * (`render`, `--setup`), or a test done with it.
   */
  /** Builds a source outside the proxy config (the mirror source). */
  readonly createSource: ReturnType<typeof sourceFactory>;
  /** The ApiSources (of the config and the mirror source) and what they share. */
  readonly api: ApiSourceHost;
  close(): Promise<void>;
}

/**
 * Builds every collaborator once from the config and options; each adds its shutdown
 * steps (and, later, its routes) as it is made.
 */
export async function buildGraph(
  config: ProxyConfig,
  opts: Omit<GraphOptions, "backend" | "strictConfig">,
  log: Logger,
  /**
   * What the graph shares with others (a graph built on SIGHUP keeps the metrics), and
   * the endpoints to leave out: aurproxy's own management port (see `OwnPortCheck`).
   */
  shared: {
    readonly metrics?: MetricsRegistry;
    readonly leaveOut?: (address: string, port: number) => string | undefined;
    /** The ApiSources' managed-source file, shared with the mirror's and later graphs'. */
    readonly apiFile?: ManagedSourceFile;
  } = {},
): Promise<Graph> {
  const clock = systemClock;
  const shutdown = new ShutdownSequence({ logger: log, clock });
  const routes = new RouteRegistry();
  const metrics = shared.metrics ?? new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({
    sessionTimeoutMs: opts.zkSessionTimeoutSeconds * 1000,
    clock,
    logger: log.child("zk"),
    metrics,
  });
  const state = opts.stateFile
    ? await EndpointStateStore.load(opts.stateFile, {
      maxAgeSeconds: opts.stateMaxAgeSeconds,
      clock,
      logger: log.child("state"),
      metrics,
    })
    : undefined;
  const scheduler = new CheckScheduler({ clock });
  const backend = createBackend(BUILTIN_KINDS.backends, config, {
    logger: log.child(config.backend),
    metrics,
  });
  // The ApiSources' routes go on the management port; their managed sources are built
  // by the same factory as every other source.
  const { api, createSource } = await apiSourceHost(
    {
      routes,
      clock,
      logger: log,
      tokenFile: opts.apiTokenFile,
      stateFile: opts.stateFile || undefined,
      file: shared.apiFile,
    },
    (api) => sourceFactory({ sessions, state, clock, logger: log.child("source"), metrics, api }),
  );
  const live: LiveUpstreams | undefined = await liveUpstreams(backend, log);
  const app = new ProxyApp(config, {
    clock,
    logger: log,
    metrics,
    backend,
    createSource,
    createAdjuster: (a) =>
      adjusterFactory(a, { clock, scheduler, logger: log.child("adjuster"), metrics }),
    resolver: new HostResolver({ clock, logger: log.child("dns"), metrics }),
    live,
    leaveOut: shared.leaveOut,
  }, opts);
  // The update in flight finishes and no other starts; what the sources know is written.
  shutdown.add("flush", "proxy updates", () => app.reconciler.stop());
  if (state) shutdown.add("flush", "state file", () => state.flush());
  shutdown.add("close", "sources", () => app.stop());
  // After the sources, which may still record endpoints while they stop.
  if (state) shutdown.add("close", "state file", () => state.stop());
  shutdown.add("close", "zookeeper sessions", () => sessions.closeAll());
  return {
    config,
    app,
    backend,
    metrics,
    sessions,
    state,
    shutdown,
    routes,
    close: () => shutdown.run("closing", { quiet: true }),
    createSource,
    api,
  };
}
