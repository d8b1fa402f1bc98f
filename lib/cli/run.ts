/**
 * `aurproxy run`: the run's lifecycle. Builds the first graph (`graph.ts`) from the
 * options (`run_options.ts`) and what outlives graph swaps (registration, the mirror, the
 * metrics wiring, the management server); with `--setup` writes the config and exits,
 * otherwise starts, serves until a shutdown request and shuts down in order.
 *
 * @module
 */

import { ProxyStartError } from "../app.ts";
import type { ProxyBackend } from "../backends/backend.ts";
import { systemClock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import { loadConfig } from "../kinds.ts";
import { listenForSignals, STOP_SIGNALS } from "../lifecycle/process_signals.ts";
import { ShutdownSequence } from "../lifecycle/shutdown.ts";
import { consoleLogger, type Logger } from "../log.ts";
import { appFeed } from "../management/dashboard/feed.ts";
import { OwnPortCheck } from "../management/own_port.ts";
import { startManagementServer } from "../management/server.ts";
import { setupMirror, startMirror } from "../mirror/start_mirror.ts";
import type { ProxyConfig } from "../model/config.ts";
import { assertProcReadable, ProcAccessError } from "../process/proc_access.ts";
import { VERSION } from "../version.ts";
import { loadManagedFile, withApiSources } from "./api_wiring.ts";
import { configOptions, logWarning } from "./config_flags.ts";
import { followingRoutes } from "./following_routes.ts";
import { buildGraph, type Graph } from "./graph.ts";
import { wireMetrics } from "./metrics_wiring.ts";
import { type ProcessParts, processParts } from "./process_parts.ts";
import { listenForHangups, LiveGraph } from "./reload.ts";
import { defaultStateFile, type RunOptions } from "./run_options.ts";
import { addProxyStop, adopting } from "./supervise.ts";

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
  let parts: ProcessParts;
  try {
    parts = await processParts(opts, { logger: log, metrics, apiFile });
  } catch (err) {
    await graph.close();
    throw err;
  }
  const { registration, mirrorSessions, processRoutes, mirrorApi, mirrorDeps } = parts;

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
    backendStats: () => live.current.backend.stats,
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
