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
import { type IpNetwork, parseNetwork } from "../management/ip_network.ts";
import { OwnPortCheck } from "../management/own_port.ts";

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Validated `run` options. */
export interface RunOptions {
  readonly configArg: string;
  readonly managementPort: number;
  readonly managementHost: string;
  /** `--management-lifecycle-allow`: networks besides loopback that may shut down. */
  readonly lifecycleAllow: readonly IpNetwork[];
  readonly setup: boolean;
  readonly updatePeriodSeconds: number;
  readonly minIntervalSeconds: number;
  readonly weightAdjustmentDelaySeconds: number;
  readonly stateFile?: string;
  readonly stateMaxAgeSeconds: number;
  readonly zkSessionTimeoutSeconds: number;
  readonly logLevel: Level;
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
    lifecycleAllow: networksFlag(v, "management-lifecycle-allow"),
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
  };
}

/** A repeatable flag of comma-separated networks, checked. */
function networksFlag(v: FlagValues, name: string): IpNetwork[] {
  const raw = v[name];
  const items = (Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [])
    .flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  return items.map((s) => {
    try {
      return parseNetwork(s);
    } catch (err) {
      throw new UsageError(`--${name}`, (err as Error).message);
    }
  });
}

/** The addresses of this host's interfaces; none when they cannot be read. */
function localAddresses(log: Logger): string[] {
  try {
    return Deno.networkInterfaces().map((i) => i.address);
  } catch (err) {
    log.warn("cannot list this host's addresses; only loopback counts as its own", err);
    return [];
  }
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
  close(): Promise<void>;
}

/**
 * Builds every collaborator once from the config and options; each adds its shutdown
 * steps (and, later, its routes) as it is made.
 */
export async function buildGraph(
  config: ProxyConfig,
  opts: Omit<
    RunOptions,
    "configArg" | "managementPort" | "managementHost" | "lifecycleAllow" | "setup" | "logLevel"
  >,
  log: Logger,
  /** Endpoints to leave out: aurproxy's own management port (see `OwnPortCheck`). */
  leaveOut?: (address: string, port: number) => string | undefined,
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
  const app = new ProxyApp(config, {
    clock,
    logger: log,
    metrics,
    backend,
    createSource: sourceFactory({ sessions, state, clock, logger: log.child("source"), metrics }),
    createAdjuster: (a) =>
      adjusterFactory(a, { clock, scheduler, logger: log.child("adjuster"), metrics }),
    resolver: new HostResolver({ clock, logger: log.child("dns"), metrics }),
    leaveOut,
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
  };
}

/**
 * Runs aurproxy. Resolves with the process exit code once shut down (or, with
 * `--setup`, once the config is written).
 */
export async function run(opts: RunOptions, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: opts.logLevel, component: "aurproxy" });
  const config = await loadConfig(opts.configArg);
  // The port listened on, once known (`--management-port=0` picks one).
  const listening = { port: opts.managementPort };
  const ownPort = new OwnPortCheck({
    hostname: opts.managementHost,
    port: () => listening.port,
    localAddresses: localAddresses(log),
    logger: log,
  });
  const graph = await buildGraph(config, opts, log, (a, p) => ownPort.reason(a, p));
  const { app, metrics, sessions, shutdown } = graph;

  if (opts.setup) {
    try {
      const result = await app.setup();
      if (result.kind === "invalid" || result.kind === "reload_failed") {
        log.error(`setup failed: ${result.error}`);
        return 1;
      }
      log.info(`setup: wrote the ${config.backend} config (${result.kind})`);
      return 0;
    } finally {
      await graph.close();
    }
  }

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
    ],
    snapshot: () => app.snapshot(),
    shutdown: (reason) => shutdown.run(reason).then(exited),
    refreshMetrics: () => {
      sessions.refreshMetrics();
      const mem = Deno.memoryUsage();
      metrics.set("process_resident_memory_bytes", "Resident memory of aurproxy.", mem.rss);
      metrics.set("process_heap_used_bytes", "JavaScript heap in use.", mem.heapUsed);
    },
    routes: graph.routes,
    lifecycleAllow: opts.lifecycleAllow,
  });
  listening.port = server.port;
  // Last: /health answers "shutting down" while the other steps run.
  shutdown.add("close", "management server", () => server.close());
  startDone = true;
  if (pending) void shutdown.run(pending).then(exited);
  await done;
  return 0;
}
