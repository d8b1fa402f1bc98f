/**
 * `aurproxy run`: builds the object graph from flags and config, then runs until a
 * shutdown request. Every shared object (metrics, ZooKeeper sessions, the health-check
 * scheduler) is created here, once, and passed down.
 *
 * @module
 */

import { ProxyApp } from "../app.ts";
import { systemClock } from "../clock.ts";
import { BUILTIN_KINDS, loadConfig } from "../kinds.ts";
import type { ProxyConfig } from "../model/config.ts";
import { HostResolver } from "../pipeline/host_resolver.ts";
import { consoleLogger, type Level, type Logger } from "../log.ts";
import { startManagementServer } from "../management/server.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { CheckScheduler } from "../share/health/scheduler.ts";
import { adjusterFactory } from "../share/kinds.ts";
import { sourceFactory } from "../sources/kinds.ts";
import type { ProxyBackend } from "../backends/backend.ts";
import { createBackend } from "../backends/table.ts";
import { EndpointStateStore } from "../sources/state_file.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { UsageError } from "../errors.ts";
import { type FlagValues, numberFlag, requireString } from "./flags.ts";
import { ShutdownSequence } from "../lifecycle/shutdown.ts";
import { listenForSignals, STOP_SIGNALS } from "../lifecycle/process_signals.ts";
import { RouteRegistry } from "../management/routes.ts";
import { type MirrorSettings, setupMirror, startMirror } from "../mirror/start_mirror.ts";
import { mirrorSettings } from "./mirror_flags.ts";
import { selfRegistrationFromFlags } from "../register/from_flags.ts";
import { type PublisherConfig, publisherConfig } from "../metrics/publishers/classes.ts";
import { NginxBackend } from "../backends/nginx/backend.ts";
import { wireMetrics } from "./metrics_wiring.ts";

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Validated `run` options. */
export interface RunOptions {
  readonly configArg: string;
  readonly managementPort: number;
  readonly managementHost: string;
  readonly setup: boolean;
  readonly updatePeriodSeconds: number;
  readonly minIntervalSeconds: number;
  readonly weightAdjustmentDelaySeconds: number;
  readonly stateFile?: string;
  readonly stateMaxAgeSeconds: number;
  readonly zkSessionTimeoutSeconds: number;
  readonly logLevel: Level;
  /** Traffic mirroring with gor, when `--mirror-source` is given. */
  readonly mirror?: MirrorSettings;
  /** `--registration-class` and its `--registration-arg`s: self registration, when set. */
  readonly registration?: { readonly className?: string; readonly args: readonly string[] };
  /** `--metric-publisher-class` and its `--metric-publisher-arg`s, validated. */
  readonly metricPublisher?: PublisherConfig;
}

/** Turns flag values into {@linkcode RunOptions}; throws UsageError naming the flag. */
export function runOptions(v: FlagValues): RunOptions {
  const backend = v.backend;
  if (backend !== "nginx") {
    throw new UsageError("--backend", `unknown backend ${JSON.stringify(backend)}; known: nginx`);
  }
  return {
    configArg: requireString(v, "config"),
    managementPort: numberFlag(v, "management-port", { min: 0, max: 65535 }),
    managementHost: String(v["management-host"]),
    setup: v.setup === true,
    updatePeriodSeconds: numberFlag(v, "update-period", { min: 0.01, fractional: true }),
    minIntervalSeconds: numberFlag(v, "max-update-frequency", { min: 0, fractional: true }),
    weightAdjustmentDelaySeconds: numberFlag(v, "weight-adjustment-delay-seconds", {
      min: 0,
      fractional: true,
    }),
    stateFile: typeof v["state-file"] === "string" ? v["state-file"] : undefined,
    stateMaxAgeSeconds: numberFlag(v, "state-max-age-seconds", { min: 0, fractional: true }),
    zkSessionTimeoutSeconds: numberFlag(v, "zk-session-timeout-seconds", {
      min: 0.1,
      fractional: true,
    }),
    logLevel: logLevel(v),
    mirror: mirrorSettings(v),
    registration: {
      className: typeof v["registration-class"] === "string" ? v["registration-class"] : undefined,
      args: (v["registration-arg"] as string[] | undefined) ?? [],
    },
    metricPublisher: publisherFlags(v),
  };
}

/** `--metric-publisher-class` and `--metric-publisher-arg`, checked (run and run_replay). */
export function publisherFlags(v: FlagValues): PublisherConfig | undefined {
  return publisherConfig(
    typeof v["metric-publisher-class"] === "string" ? v["metric-publisher-class"] : undefined,
    (v["metric-publisher-arg"] as string[] | undefined) ?? [],
  );
}

/** `--log-level`, checked. */
export function logLevel(v: FlagValues): Level {
  const level = v["log-level"] as Level;
  if (!LEVELS.includes(level)) {
    throw new UsageError("--log-level", `expected one of ${LEVELS.join(", ")}, got ${level}`);
  }
  return level;
}

/** The object graph shared by `run`, `render` and the benchmarks. */
export interface Graph {
  readonly config: ProxyConfig;
  readonly app: ProxyApp;
  readonly backend: ProxyBackend;
  readonly metrics: MetricsRegistry;
  readonly sessions: ZkSessions;
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
  close(): Promise<void>;
}

/**
 * Builds every collaborator once from the config and options; each adds its shutdown
 * steps (and, later, its routes) as it is made.
 */
export async function buildGraph(
  config: ProxyConfig,
  opts: Omit<RunOptions, "configArg" | "managementPort" | "managementHost" | "setup" | "logLevel">,
  log: Logger,
): Promise<Graph> {
  const clock = systemClock;
  const shutdown = new ShutdownSequence({ logger: log, clock });
  const routes = new RouteRegistry();
  const metrics = new MetricsRegistry("aurproxy");
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
    })
    : undefined;
  const scheduler = new CheckScheduler({ clock });
  const backend = createBackend(BUILTIN_KINDS.backends, config, {
    logger: log.child(config.backend),
    metrics,
  });
  const createSource = sourceFactory({
    sessions,
    state,
    clock,
    logger: log.child("source"),
    metrics,
  });
  const app = new ProxyApp(config, {
    clock,
    logger: log,
    metrics,
    backend,
    createSource,
    createAdjuster: (a) =>
      adjusterFactory(a, { clock, scheduler, logger: log.child("adjuster"), metrics }),
    resolver: new HostResolver({ clock, logger: log.child("dns"), metrics }),
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
    shutdown,
    routes,
    close: () => shutdown.run("closing", { quiet: true }),
    createSource,
  };
}

/**
 * Runs aurproxy. Resolves with the process exit code once shut down (or, with
 * `--setup`, once the config is written).
 */
export async function run(opts: RunOptions, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: opts.logLevel, component: "aurproxy" });
  const config = await loadConfig(opts.configArg);
  const graph = await buildGraph(config, opts, log);
  const { app, metrics, sessions, shutdown } = graph;
  const { createSource } = graph;
  // The mirror's collaborators, shared with the proxy's sources.
  const mirrorDeps = { createSource, clock: systemClock, logger: log, metrics };
  // Checked before anything starts or is written: a bad registration flag exits 2.
  let registration;
  try {
    registration = opts.setup ? undefined : await selfRegistrationFromFlags(
      opts.registration?.className,
      opts.registration?.args ?? [],
      { clock: systemClock, logger: log, metrics },
    );
  } catch (err) {
    await graph.close();
    throw err;
  }
  if (registration) {
    const reg = registration;
    // Registers after the first successful apply; deregisters before anything stops.
    app.addListener(reg);
    shutdown.add("deregister", "registration", () => reg.deregister());
  }

  if (opts.setup) {
    try {
      const result = await app.setup();
      if (result.kind === "invalid" || result.kind === "reload_failed") {
        log.error(`setup failed: ${result.error}`);
        return 1;
      }
      log.info(`setup: wrote the ${config.backend} config (${result.kind})`);
      if (opts.mirror) await setupMirror(opts.mirror, mirrorDeps);
      return 0;
    } finally {
      await graph.close();
    }
  }

  // Metrics, histograms and the publisher (its last period goes out in the flush phase).
  const metricsWiring = wireMetrics({
    metrics,
    clock: systemClock,
    logger: log,
    shutdown,
    publisher: opts.metricPublisher,
    statsPort: graph.backend instanceof NginxBackend ? graph.backend.options.statsPort : undefined,
    refreshers: [() => sessions.refreshMetrics()],
    pipeline: app,
  });
  let exited!: () => void;
  const done = new Promise<void>((r) => (exited = r));
  // Listening from the start: a SIGTERM while the sources start (up to a few seconds
  // waiting for ZooKeeper) shuts down cleanly once everything is up, instead of killing
  // the process halfway.
  let startDone = false;
  let pending: Deno.Signal | undefined;
  const stopListening = listenForSignals(STOP_SIGNALS, (sig) => {
    if (startDone) void shutdown.run(sig).then(exited);
    else pending ??= sig;
  });
  shutdown.add("close", "signal listeners", stopListening);
  try {
    await app.start();
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  // Mirroring starts once the proxy is up; it stops with the children, before the sources.
  let mirror;
  try {
    mirror = opts.mirror ? await startMirror(opts.mirror, mirrorDeps) : undefined;
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  if (mirror) shutdown.add("stop_children", "mirror", mirror.stop);
  const server = await startManagementServer({
    hostname: opts.managementHost,
    port: opts.managementPort,
    logger: log.child("management"),
    metrics,
    health: [
      () =>
        shutdown.started
          ? { level: "failed", lines: ["shutting down"] }
          : { level: "ok", lines: [] },
      app.healthProbe(),
      () => sessions.health(),
      () => mirror?.health() ?? { level: "ok", lines: [] },
      registration?.healthProbe() ?? (() => ({ level: "ok", lines: [] })),
    ],
    snapshot: () => app.snapshot(),
    shutdown: (reason) => shutdown.run(reason).then(exited),
    refreshMetrics: metricsWiring.refresh,
    routes: graph.routes,
  });
  metricsWiring.start();
  // Last: /health answers "shutting down" while the other steps run.
  shutdown.add("close", "management server", () => server.close());
  startDone = true;
  if (pending) void shutdown.run(pending).then(exited);
  await done;
  return 0;
}
