/**
 * `aurproxy run_replay` (also `run-replay`): manages a gor replay server. gor listens on
 * `--replay-port` for the stream mirrored by `aurproxy run --mirror-*` and replays it over
 * HTTP to the endpoints of `--replay-source`; aurproxy keeps gor's launch script in step
 * with that source and serves the management port (lifecycle, health, metrics).
 *
 * @module
 */

import { systemClock } from "../clock.ts";
import { ShutdownSequence } from "../lifecycle/shutdown.ts";
import { listenForSignals, STOP_SIGNALS } from "../lifecycle/process_signals.ts";
import { consoleLogger, type Level, type Logger } from "../log.ts";
import { startManagementServer } from "../management/server.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import {
  type MirrorDeps,
  type MirrorSettings,
  setupMirror,
  startMirror,
} from "../mirror/start_mirror.ts";
import { sourceFactory } from "../sources/kinds.ts";
import { ZkSessions } from "../zk/sessions.ts";
import { type FlagTable, type FlagValues, numberFlag, RUN_FLAGS } from "./flags.ts";
import { REPLAY_OWN_FLAGS, replaySettings } from "./mirror_flags.ts";
import { RouteRegistry } from "../management/routes.ts";
import { EndpointStateStore } from "../sources/state_file.ts";
import { API_FLAGS, apiTokenFile } from "./api_flags.ts";
import { apiSourceHost } from "./api_wiring.ts";
import { logLevel, publisherFlags } from "./run_options.ts";
import type { PublisherConfig } from "../metrics/publishers/classes.ts";
import { wireMetrics } from "./metrics_wiring.ts";

/** Flags of `run_replay`: the original's, plus the gor and management ones of `run`. */
export const REPLAY_FLAGS: FlagTable = {
  "management-port": RUN_FLAGS["management-port"],
  "management-host": RUN_FLAGS["management-host"],
  ...REPLAY_OWN_FLAGS,
  "metric-publisher-class": RUN_FLAGS["metric-publisher-class"],
  "metric-publisher-arg": RUN_FLAGS["metric-publisher-arg"],
  "sentry-dsn": RUN_FLAGS["sentry-dsn"],
  "zk-session-timeout-seconds": RUN_FLAGS["zk-session-timeout-seconds"],
  "log-level": RUN_FLAGS["log-level"],
  // An ApiSource as the replay source: its token, and where its sources are kept.
  ...API_FLAGS,
  "state-file": {
    ...RUN_FLAGS["state-file"],
    help: "Keeps an ApiSource replay source's managed sources across restarts (default: off).",
  },
  "state-max-age-seconds": RUN_FLAGS["state-max-age-seconds"],
  setup: {
    type: "boolean",
    default: false,
    help: "Write gor's launch script once for the current endpoints (ends nothing), then exit.",
  },
  help: RUN_FLAGS.help,
};

/** Validated `run_replay` options. */
export interface ReplayOptions {
  readonly managementPort: number;
  readonly managementHost: string;
  readonly setup: boolean;
  readonly zkSessionTimeoutSeconds: number;
  readonly logLevel: Level;
  readonly replay: MirrorSettings;
  readonly apiTokenFile?: string;
  readonly stateFile?: string;
  readonly stateMaxAgeSeconds: number;
  /** `--metric-publisher-class` and its arguments, validated. */
  readonly metricPublisher?: PublisherConfig;
}

/** Turns flag values into {@linkcode ReplayOptions}; throws UsageError(s) naming flags. */
export function replayOptions(v: FlagValues): ReplayOptions {
  return {
    managementPort: numberFlag(v, "management-port", { min: 0, max: 65535 }),
    managementHost: String(v["management-host"]),
    setup: v.setup === true,
    zkSessionTimeoutSeconds: numberFlag(v, "zk-session-timeout-seconds", {
      min: 0.1,
      fractional: true,
    }),
    logLevel: logLevel(v),
    replay: replaySettings(v),
    apiTokenFile: apiTokenFile(v),
    stateFile: typeof v["state-file"] === "string" ? v["state-file"] : undefined,
    stateMaxAgeSeconds: numberFlag(v, "state-max-age-seconds", { min: 0, fractional: true }),
    metricPublisher: publisherFlags(v),
  };
}

/**
 * Runs the replay manager until a shutdown request (or, with `--setup`, until the script
 * is written). Resolves with the exit code.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 *
 * // Serves the management port and runs gor until asked to stop.
 * async function main(args: string[]): Promise<number> {
 *   return await runReplay(replayOptions(parseFlags(args, REPLAY_FLAGS)));
 * }
 * ```
 */
export async function runReplay(o: ReplayOptions, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: o.logLevel, component: "aurproxy" });
  const clock = systemClock;
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({
    sessionTimeoutMs: o.zkSessionTimeoutSeconds * 1000,
    clock,
    logger: log.child("zk"),
    metrics,
  });
  const state = o.stateFile
    ? await EndpointStateStore.load(o.stateFile, {
      maxAgeSeconds: o.stateMaxAgeSeconds,
      clock,
      logger: log.child("state"),
    })
    : undefined;
  // With an ApiSource as the replay source, its routes are on the management port.
  const routes = new RouteRegistry();
  const { api, createSource } = await apiSourceHost(
    { routes, clock, logger: log, tokenFile: o.apiTokenFile, stateFile: o.stateFile },
    (api) => sourceFactory({ sessions, state, clock, logger: log.child("source"), metrics, api }),
  );
  const deps: MirrorDeps = { createSource, clock, logger: log, metrics };

  if (o.setup) {
    try {
      const c = await setupMirror(o.replay, deps);
      log.info(`setup: wrote ${o.replay.commandPath} (${c.kind})`);
      return 0;
    } catch (err) {
      log.error(`setup failed for ${o.replay.commandPath}`, err);
      return 1;
    } finally {
      await state?.stop();
      await sessions.closeAll();
    }
  }

  const shutdown = new ShutdownSequence({ logger: log });
  let exited!: () => void;
  const done = new Promise<void>((r) => (exited = r));
  if (state) shutdown.add("close", "state file", () => state.stop());
  shutdown.add("close", "zookeeper sessions", () => sessions.closeAll());
  const metricsWiring = wireMetrics({
    metrics,
    clock,
    logger: log,
    shutdown,
    publisher: o.metricPublisher,
    refreshers: [() => sessions.refreshMetrics()],
  });
  // As in `run`: a signal during start-up is acted on once start-up is over.
  let started = false;
  let pending: Deno.Signal | undefined;
  const stopListening = listenForSignals(STOP_SIGNALS, (sig) => {
    if (started) void shutdown.run(sig).then(exited);
    else pending ??= sig;
  });
  shutdown.add("close", "signal listeners", stopListening);
  let mirror;
  try {
    mirror = await startMirror(o.replay, deps);
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  const replay = mirror;
  shutdown.add("stop_children", "replay", () => replay.stop());
  let server;
  try {
    server = await startManagementServer({
      hostname: o.managementHost,
      port: o.managementPort,
      logger: log.child("management"),
      metrics,
      health: [
        () =>
          shutdown.started
            ? { level: "failed", lines: ["shutting down"] }
            : { level: "ok", lines: [] },
        () => replay.health(),
        () => sessions.health(),
      ],
      // No proxy here: /status.json shows only the ApiSource's managed sources, and
      // answers 503 "no snapshot yet" without one.
      snapshot: () =>
        api.sources.length
          ? {
            context: {},
            servers: [],
            builtAt: clock.now(),
            adjustmentDelayed: false,
            apiSources: api.status(),
          }
          : undefined,
      shutdown: (reason) => shutdown.run(reason).then(exited),
      refreshMetrics: metricsWiring.refresh,
      routes,
    });
  } catch (err) {
    await shutdown.run("start failed");
    throw err;
  }
  const management = server;
  shutdown.add("close", "management server", () => management.close());
  metricsWiring.start();
  started = true;
  if (pending) void shutdown.run(pending).then(exited);
  await done;
  return 0;
}
