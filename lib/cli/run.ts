/**
 * `aurproxy run`: builds the object graph from flags and config, then runs until a
 * shutdown request. Every shared object (metrics, ZooKeeper sessions, the health-check
 * scheduler) is created here, once, and passed down.
 *
 * @module
 */

import { ProxyApp } from "../app.ts";
import { NginxBackend } from "../backends/nginx/backend.ts";
import { systemClock } from "../clock.ts";
import { loadConfig } from "../config/load.ts";
import type { ProxyConfig } from "../model/config.ts";
import { HostResolver } from "../pipeline/host_resolver.ts";
import { consoleLogger, type Level, type Logger } from "../log.ts";
import { startManagementServer } from "../management/server.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { CheckScheduler } from "../share/health/scheduler.ts";
import { adjusterFactory } from "../share/factories.ts";
import { sourceFactory } from "../sources/factory.ts";
import { EndpointStateStore } from "../sources/state_file.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { UsageError } from "../errors.ts";
import { type FlagValues, numberFlag, requireString } from "./flags.ts";
import { Shutdown } from "../lifecycle/shutdown.ts";
// mirror (issue 9):
import { type MirrorSettings, setupMirror, startMirror } from "../mirror/start_mirror.ts";
import { mirrorSettings } from "./mirror_flags.ts";

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
  /** mirror (issue 9): traffic mirroring with gor, when `--mirror-source` is given. */
  readonly mirror?: MirrorSettings;
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
    mirror: mirrorSettings(v), // mirror (issue 9)
  };
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
  readonly backend: NginxBackend;
  readonly metrics: MetricsRegistry;
  readonly sessions: ZkSessions;
  /** mirror (issue 9): builds a source outside the proxy config (the mirror source). */
  readonly createSource: ReturnType<typeof sourceFactory>;
  /** Closes what the graph shares between sources (state file, ZooKeeper sessions). */
  close(): Promise<void>;
}

/** Builds every collaborator once from the config and options. */
export async function buildGraph(
  config: ProxyConfig,
  opts: Omit<RunOptions, "configArg" | "managementPort" | "managementHost" | "setup" | "logLevel">,
  log: Logger,
): Promise<Graph> {
  const clock = systemClock;
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
  const backend = new NginxBackend(config.nginx, { logger: log.child("nginx"), metrics });
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
  return {
    config,
    app,
    backend,
    metrics,
    sessions,
    createSource,
    close: async () => {
      await state?.stop();
      await sessions.closeAll();
    },
  };
}

/**
 * Runs aurproxy. Resolves with the process exit code once shut down (or, with
 * `--setup`, once the config is written).
 */
export async function run(opts: RunOptions, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: opts.logLevel, component: "aurproxy" });
  const config = await loadConfig(opts.configArg);
  const { app, metrics, sessions, createSource, close: closeShared } = await buildGraph(
    config,
    opts,
    log,
  );
  // mirror (issue 9): the mirror's collaborators, shared with the proxy's sources.
  const mirrorDeps = { createSource, clock: systemClock, logger: log, metrics };

  if (opts.setup) {
    try {
      const result = await app.setup();
      if (result.kind === "invalid" || result.kind === "reload_failed") {
        log.error(`setup failed: ${result.error}`);
        return 1;
      }
      log.info(`setup: wrote ${config.nginx.configurationFile} (${result.kind})`);
      if (opts.mirror) await setupMirror(opts.mirror, mirrorDeps); // mirror (issue 9)
      return 0;
    } finally {
      await closeShared();
    }
  }

  const shutdown = new Shutdown(log);
  let exited!: () => void;
  const done = new Promise<void>((r) => (exited = r));
  shutdown.add("shared", closeShared);
  shutdown.add("sources", () => app.stop());
  // Listening from the start: a SIGTERM while the sources start (up to a few seconds
  // waiting for ZooKeeper) shuts down cleanly once everything is up, instead of killing
  // the process halfway.
  let startDone = false;
  let pending: Deno.Signal | undefined;
  const onSignal = (sig: Deno.Signal) => () => {
    if (startDone) void shutdown.run(sig).then(exited);
    else pending ??= sig;
  };
  const signals: [Deno.Signal, () => void][] = [
    ["SIGTERM", onSignal("SIGTERM")],
    ["SIGINT", onSignal("SIGINT")],
  ];
  for (const [s, fn] of signals) Deno.addSignalListener(s, fn);
  shutdown.add("signals", () => {
    for (const [s, fn] of signals) Deno.removeSignalListener(s, fn);
  });
  try {
    await app.start();
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  // mirror (issue 9): after the proxy is up; stopped before the sources.
  let mirror;
  try {
    mirror = opts.mirror ? await startMirror(opts.mirror, mirrorDeps) : undefined;
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  if (mirror) shutdown.add("mirror", mirror.stop);
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
      () => mirror?.health() ?? { level: "ok", lines: [] }, // mirror (issue 9)
    ],
    snapshot: () => app.snapshot(),
    shutdown: (reason) => shutdown.run(reason).then(exited),
    refreshMetrics: () => {
      sessions.refreshMetrics();
      const mem = Deno.memoryUsage();
      metrics.set("process_resident_memory_bytes", "Resident memory of aurproxy.", mem.rss);
      metrics.set("process_heap_used_bytes", "JavaScript heap in use.", mem.heapUsed);
    },
  });
  shutdown.add("management", () => server.close());
  startDone = true;
  if (pending) void shutdown.run(pending).then(exited);
  await done;
  return 0;
}
