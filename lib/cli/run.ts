/**
 * `aurproxy run`: builds the object graph from flags and config, then runs until a
 * shutdown request. Every shared object (metrics, ZooKeeper sessions, the health-check
 * scheduler) is created here, once, and passed down.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { ProxyApp, ProxyStartError } from "../app.ts";
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
import type { LiveUpstreams, ProxyBackend } from "../backends/backend.ts";
import { nginxBackend } from "../backends/nginx/kind.ts";
import { haproxyBackend } from "../backends/haproxy/kind.ts";
import { HaproxyBackend } from "../backends/haproxy/backend.ts";
import { createBackend, optionsFor } from "../backends/table.ts";
import { EndpointStateStore } from "../sources/state_file.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { UsageError } from "../errors.ts";
import { type FlagValues, numberFlag, requireString } from "./flags.ts";
import { backendFlag, configOptions, logWarning } from "./config_flags.ts";
import { listenForHangups, LiveGraph } from "./reload.ts";
import { ShutdownSequence } from "../lifecycle/shutdown.ts";
import { listenForSignals, STOP_SIGNALS } from "../lifecycle/process_signals.ts";
import { type RouteHandler, RouteRegistry } from "../management/routes.ts";
import { type MirrorSettings, setupMirror, startMirror } from "../mirror/start_mirror.ts";
import { mirrorSettings } from "./mirror_flags.ts";
import { assertProcReadable, ProcAccessError } from "../backends/nginx/process.ts";
import { type IpNetwork, parseNetwork } from "../management/ip_network.ts";
import { OwnPortCheck } from "../management/own_port.ts";
import type { ApiSourceHost } from "../sources/api/host.ts";
import { apiTokenFile } from "./api_flags.ts";
import { apiSourceHost, loadManagedFile, withApiSources } from "./api_wiring.ts";
import type { ManagedSourceFile } from "../sources/api/managed_file.ts";
import { checkSelfRegistrationFlags, selfRegistrationFromFlags } from "../register/from_flags.ts";
import { mountRegistrationStatus } from "../register/status_route.ts";
import type { SelfRegistration } from "../register/self_registration.ts";
import { type PublisherConfig, publisherConfig } from "../metrics/publishers/classes.ts";
import { NginxBackend } from "../backends/nginx/backend.ts";
import { wireMetrics } from "./metrics_wiring.ts";
import { appFeed } from "../management/dashboard/feed.ts";
import { VERSION } from "../version.ts";
import { addProxyStop, adopting } from "./supervise.ts";

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Validated `run` options. */
export interface RunOptions {
  readonly configArg: string;
  readonly managementPort: number;
  readonly managementHost: string;
  /** `--management-lifecycle-allow`: networks besides loopback that may shut down. */
  readonly lifecycleAllow: readonly IpNetwork[];
  readonly setup: boolean;
  /** `--supervise`: aurproxy starts and supervises the proxy itself. */
  readonly supervise: boolean;
  readonly updatePeriodSeconds: number;
  readonly minIntervalSeconds: number;
  readonly weightAdjustmentDelaySeconds: number;
  /**
   * The state file; undefined: the default ({@linkcode defaultStateFile}); `false`: none
   * (`--state-file=`).
   */
  readonly stateFile?: string | false;
  readonly stateMaxAgeSeconds: number;
  readonly zkSessionTimeoutSeconds: number;
  /** `--update-failure-threshold-seconds`. */
  readonly updateFailureThresholdSeconds?: number;
  readonly logLevel: Level;
  /** `--api-token-file`: the bearer token ApiSources' PUT and DELETE need. */
  readonly apiTokenFile?: string;
  /** Traffic mirroring with gor, when `--mirror-source` is given. */
  readonly mirror?: MirrorSettings;
  /** `--registration-class` and its `--registration-arg`s: self registration, when set. */
  readonly registration?: { readonly className?: string; readonly args: readonly string[] };
  /** `--backend`: the backend of a config without a `"backend"` key. */
  readonly backend: string;
  /** `--strict-config`: keys the original ignored are errors, not warnings. */
  readonly strictConfig: boolean;
  /** `--metric-publisher-class` and its `--metric-publisher-arg`s, validated. */
  readonly metricPublisher?: PublisherConfig;
}

/** Turns flag values into {@linkcode RunOptions}; throws UsageError naming the flag. */
export function runOptions(v: FlagValues): RunOptions {
  if (v.supervise === true && v.setup === true) {
    throw new UsageError(
      "--supervise",
      "cannot be combined with --setup: --setup writes the config for a proxy started " +
        "separately and exits; --supervise writes it itself and runs the proxy",
    );
  }
  return {
    supervise: v.supervise === true,
    backend: backendFlag(v),
    strictConfig: v["strict-config"] === true,
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
    stateFile: typeof v["state-file"] === "string" ? v["state-file"] || false : undefined,
    stateMaxAgeSeconds: numberFlag(v, "state-max-age-seconds", { min: 0, fractional: true }),
    zkSessionTimeoutSeconds: numberFlag(v, "zk-session-timeout-seconds", {
      min: 0.1,
      fractional: true,
    }),
    updateFailureThresholdSeconds: numberFlag(v, "update-failure-threshold-seconds", {
      min: 0,
      fractional: true,
    }),
    logLevel: logLevel(v),
    apiTokenFile: apiTokenFile(v),
    mirror: mirrorSettings(v),
    registration: {
      className: typeof v["registration-class"] === "string" ? v["registration-class"] : undefined,
      args: (v["registration-arg"] as string[] | undefined) ?? [],
    },
    metricPublisher: publisherFlags(v),
  };
}

/**
 * The state file when `--state-file` is not given: `aurproxy-state.json` beside the proxy's
 * config (nginx's or HAProxy's `configuration_file`).
 */
export function defaultStateFile(config: ProxyConfig): string | undefined {
  const file = config.backend === nginxBackend.name
    ? optionsFor(nginxBackend, config).configurationFile
    : config.backend === haproxyBackend.name
    ? optionsFor(haproxyBackend, config).configurationFile
    : undefined;
  return file === undefined ? undefined : join(dirname(file), "aurproxy-state.json");
}

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

/**
 * The routes of whichever graph runs: a SIGHUP swaps the graph and its routes with it
 * (the ApiSources of the new config). The first graph's paths are mounted, and `/api/*`
 * for API sources a new config adds; each request goes to the current graph's handler.
 * `fixed` holds the process's own routes (registration status, the mirror's ApiSource),
 * which outlive swaps.
 */
function followingRoutes(
  first: RouteRegistry,
  current: () => RouteRegistry,
  fixed: RouteRegistry,
): RouteRegistry {
  const via = (registry: () => RouteRegistry): RouteHandler => (req, url, ctx) => {
    const handler = registry().match(req.method, url.pathname);
    return handler ? handler(req, url, ctx) : new Response("not found\n", { status: 404 });
  };
  const routes = new RouteRegistry();
  for (const r of fixed.routes()) {
    routes.add(r.owner, { method: r.method, path: r.path, handler: via(() => fixed) });
  }
  const follow = via(current);
  const mounted = new Set<string>();
  for (const r of first.routes()) {
    routes.add(r.owner, { method: r.method, path: r.path, handler: follow });
    mounted.add(`${r.method} ${r.path}`);
  }
  for (const method of ["GET", "HEAD", "PUT", "DELETE"]) {
    if (!mounted.has(`${method} /api/*`)) {
      routes.add("api sources", { method, path: "/api/*", handler: follow });
    }
  }
  return routes;
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

/**
 * Fails the start (exit 2) when Deno may not read /proc: aurproxy would never see nginx,
 * and only say "nginx is not running" at every update.
 */
function procReadable(): void {
  try {
    assertProcReadable();
  } catch (err) {
    if (err instanceof ProcAccessError) throw new UsageError("", err.message);
    throw err;
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

/**
 * Runs aurproxy. Resolves with the process exit code once shut down (or, with
 * `--setup`, once the config is written).
 */
export async function run(opts: RunOptions, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: opts.logLevel, component: "aurproxy" });
  if (!opts.setup) procReadable();
  const parse = configOptions(
    { backend: opts.backend, strict: opts.strictConfig },
    logWarning(log),
  );
  const config = await loadConfig(opts.configArg, parse);
  // The port listened on, once known (`--management-port=0` picks one).
  const listening = { port: opts.managementPort };
  const ownPort = new OwnPortCheck({
    hostname: opts.managementHost,
    port: () => listening.port,
    localAddresses: localAddresses(log),
    logger: log,
  });
  const leaveOut = (a: string, p: number) => ownPort.reason(a, p);
  // The state file follows the config's configuration_file unless --state-file says.
  const optionsFor = (c: ProxyConfig) => ({
    ...opts,
    stateFile: opts.stateFile ?? defaultStateFile(c),
  });
  const stateFile = optionsFor(config).stateFile;
  const apiFile = stateFile ? await loadManagedFile(stateFile, log) : undefined;
  const graph = await buildGraph(config, optionsFor(config), log, { leaveOut, apiFile });
  const { app, metrics } = graph;
  if (opts.supervise && !graph.backend.start) {
    await graph.close();
    throw new UsageError(
      "--supervise",
      `the ${graph.backend.name} backend cannot run its proxy itself: start the proxy ` +
        `separately (run --setup, then the proxy, then run without --supervise)`,
    );
  }
  // Checked before anything starts or is written: a bad registration flag exits 2.
  let registration: SelfRegistration | undefined;
  try {
    const { className, args } = opts.registration ?? { args: [] };
    if (opts.setup) checkSelfRegistrationFlags(className, args);
    else {
      registration = await selfRegistrationFromFlags(className, args, {
        clock: systemClock,
        logger: log,
        metrics,
      });
    }
  } catch (err) {
    await graph.close();
    throw err;
  }
  // The mirror source outlives graph swaps: its own ZooKeeper sessions, no state file.
  const mirrorSessions = new ZkSessions({
    sessionTimeoutMs: opts.zkSessionTimeoutSeconds * 1000,
    clock: systemClock,
    logger: log.child("zk"),
    metrics,
  });
  // Routes of the process, not of a graph (they outlive SIGHUP swaps): the registration
  // status, and an ApiSource as the mirror source, which keeps its managed sources in
  // the proxy's file.
  const processRoutes = new RouteRegistry();
  if (registration) mountRegistrationStatus(processRoutes, registration);
  let mirrorWiring;
  try {
    mirrorWiring = await apiSourceHost(
      {
        routes: processRoutes,
        clock: systemClock,
        logger: log,
        tokenFile: opts.apiTokenFile,
        file: apiFile,
      },
      (api) =>
        sourceFactory({
          sessions: mirrorSessions,
          clock: systemClock,
          logger: log.child("source"),
          metrics,
          api,
        }),
    );
  } catch (err) {
    await graph.close();
    throw err;
  }
  const mirrorApi = mirrorWiring.api;
  const mirrorDeps = {
    createSource: mirrorWiring.createSource,
    clock: systemClock,
    logger: log,
    metrics,
  };

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
      await mirrorSessions.closeAll();
    }
  }

  // The process's own steps; the running graph's whole sequence is one of them. The
  // pipeline flushes first (the update in flight ends), then the publisher sends the last
  // period: steps of one phase run in the order they were added.
  const shutdown = new ShutdownSequence({ logger: log, clock: systemClock });
  const reg = registration;
  if (reg) shutdown.add("deregister", "registration", () => reg.deregister());
  shutdown.add("flush", "pipeline", () => live.close("shutting down"));
  if (opts.supervise) addProxyStop(shutdown, () => live.current.backend);
  const metricsWiring = wireMetrics({
    metrics,
    clock: systemClock,
    logger: log,
    shutdown,
    publisher: opts.metricPublisher,
    statsPort: graph.backend instanceof NginxBackend ? graph.backend.options.statsPort : undefined,
    backendStats: graph.backend instanceof HaproxyBackend ? graph.backend.stats : undefined,
    refreshers: [() => live.current.sessions.refreshMetrics()],
  });
  // Whichever graph runs registers after its first successful apply and is timed.
  const withListeners = (g: Graph) => {
    if (registration) g.app.addListener(registration);
    metricsWiring.attach(g.app);
    return g;
  };
  withListeners(graph);
  // SIGHUP swaps the whole graph (./reload.ts): what must follow it reads live.current.
  const started = systemClock.now();
  const live: LiveGraph = new LiveGraph(graph, {
    configArg: opts.configArg,
    configOptions: parse,
    logger: log,
    metrics,
    build: async (c) =>
      withListeners(
        await adopting(
          opts.supervise,
          (): ProxyBackend => live.current.backend,
          buildGraph(
            c,
            {
              ...optionsFor(c),
              weightAdjustmentDelaySeconds: Math.max(
                0,
                opts.weightAdjustmentDelaySeconds - (systemClock.now() - started) / 1000,
              ),
            },
            log,
            { metrics, leaveOut, apiFile },
          ),
        ),
      ),
  });
  shutdown.add("close", "mirror zookeeper sessions", () => mirrorSessions.closeAll());
  const hangups = listenForHangups(live, log);
  shutdown.add("close", "SIGHUP listener", hangups.stop);

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
    if (opts.supervise) await app.startSupervised();
    else await app.start();
  } catch (err) {
    await shutdown.run("start failed");
    if (!(err instanceof ProxyStartError)) throw err;
    log.error(`--supervise: ${err.message}`);
    return 1;
  }
  // Mirroring starts once the proxy is up and stops with the children.
  let mirror;
  try {
    mirror = opts.mirror ? await startMirror(opts.mirror, mirrorDeps) : undefined;
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  if (mirror) shutdown.add("stop_children", "mirror", mirror.stop);
  const ok = () => ({ level: "ok" as const, lines: [] });
  const server = await startManagementServer({
    hostname: opts.managementHost,
    port: opts.managementPort,
    logger: log.child("management"),
    metrics,
    health: [
      () => shutdown.started ? { level: "failed", lines: ["shutting down"] } : ok(),
      () => live.current.app.healthProbe()(),
      () => live.current.sessions.health(),
      () => live.current.state?.health() ?? ok(),
      () => mirror?.health() ?? ok(),
      registration?.healthProbe() ?? ok,
    ],
    snapshot: () => withApiSources(live.current.app.snapshot(), live.current.api, mirrorApi),
    dashboard: appFeed(() => live.current.app, { startedAt: started, version: VERSION }),
    shutdown: (reason) => shutdown.run(reason).then(exited),
    refreshMetrics: metricsWiring.refresh,
    routes: followingRoutes(graph.routes, () => live.current.routes, processRoutes),
    lifecycleAllow: opts.lifecycleAllow,
  });
  listening.port = server.port;
  metricsWiring.start();
  // Last: /health answers "shutting down" while the other steps run.
  shutdown.add("close", "management server", () => server.close());
  startDone = true;
  hangups.ready();
  if (pending) void shutdown.run(pending).then(exited);
  await done;
  return 0;
}
