/**
 * SIGHUP: re-read `--config` and, when the new config is valid, run it instead of the
 * running one, without a restart; otherwise keep the running one and log why.
 *
 * How: a **full graph swap**. The new config gets a new object graph (sources, adjusters,
 * reconciler, backend, ZooKeeper sessions, state store; only the metrics registry is
 * shared, so counters continue), built beside the running one. Then the running graph is
 * shut down (its update in flight finishes, its state file is flushed, its sources and
 * sessions close) and the new one is started; its first update writes and reloads nginx.
 * nginx keeps serving the last config throughout: between the two graphs nothing is
 * applied, and the new graph's first update follows as soon as its sources have read
 * their registry (at most their start timeout, 5 s, when ZooKeeper is unreachable; then
 * the state file serves). Rebuilding everything, rather than diffing the two configs,
 * means no part can be left pointing at the old config; the cost is that adjusters start
 * afresh (health checks judge every endpoint again, ramps restart), the same as after a
 * restart of aurproxy, and the weight-adjustment delay counts from the process start.
 *
 * The running config is kept, with the reason logged, when `--config` is inline JSON
 * (there is nothing to re-read), the file cannot be read or is invalid, it is unchanged,
 * or the proxy refuses what it renders (`nginx -t`, on placeholder endpoints as
 * `validate` does). If the new graph fails to start, the previous config is built and
 * started again.
 *
 * @module
 */

import { configFileOf } from "../config/load.ts";
import { UsageError, UsageErrors } from "../errors.ts";
import { type ConfigOptions, loadConfig } from "../kinds.ts";
import { listenForSignals } from "../lifecycle/process_signals.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxyConfig } from "../model/config.ts";
import { placeholderSnapshot } from "./placeholder.ts";
import type { Graph } from "./graph.ts";

/** What a reload did. */
export type ReloadOutcome =
  /** `--config` is inline JSON: nothing to re-read. */
  | "inline"
  /** The file could not be read or holds an invalid config: the running one stays. */
  | "invalid"
  /** The file holds the running config: nothing to do. */
  | "unchanged"
  /** The proxy refused the rendered config (`nginx -t`): the running one stays. */
  | "rejected"
  /** The new config runs. */
  | "applied"
  /** The new graph did not start: the previous config was started again. */
  | "failed"
  /** Shutting down: not reloaded. */
  | "closed";

/** What {@linkcode LiveGraph} needs. */
export interface ReloadDeps {
  /** The `--config` value: re-read only when it names a file. */
  readonly configArg: string;
  /** How the config is read: the same options as at start (backend, warnings, strict). */
  readonly configOptions: ConfigOptions;
  /** Builds the graph of a config, sharing the process's metrics registry. */
  readonly build: (config: ProxyConfig) => Promise<Graph>;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
}

const RELOADS = ["config_reloads_total", "SIGHUP re-reads of --config, by outcome."] as const;

/** Every error of a config that failed to load, one per line. */
function describeError(err: unknown): string {
  if (err instanceof UsageErrors) return err.errors.map((e) => e.message).join("; ");
  if (err instanceof UsageError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The running object graph, replaced whole by {@linkcode LiveGraph.reload}. Everything
 * that must follow a reload (the management server's health, status and metrics) reads
 * {@linkcode LiveGraph.current} each time instead of keeping a graph.
 *
 * @example
 * ```ts
 * import type { Graph } from "./graph.ts";
 * import type { ReloadDeps } from "./reload.ts";
 *
 * async function serve(graph: Graph, deps: ReloadDeps) {
 *   const live = new LiveGraph(graph, deps);
 *   await live.current.app.start();
 *   await live.reload(); // on SIGHUP: "applied", "unchanged", "invalid", ...
 *   await live.close("SIGTERM");
 * }
 * ```
 */
export class LiveGraph {
  readonly #deps: ReloadDeps;
  #current: Graph;
  /** The reload under way, so a second SIGHUP waits for it and then reads the file again. */
  #running?: Promise<ReloadOutcome>;
  #again = false;
  #closed = false;

  constructor(initial: Graph, deps: ReloadDeps) {
    this.#current = initial;
    this.#deps = deps;
    for (
      const outcome of ["inline", "invalid", "unchanged", "rejected", "applied", "failed"]
    ) deps.metrics.declareCounter(RELOADS[0], RELOADS[1], { outcome });
  }

  /** The graph that runs now. */
  get current(): Graph {
    return this.#current;
  }

  /**
   * Re-reads `--config` and runs it if it is valid and new. A call while one runs makes
   * that one read the file once more when it is done (several SIGHUPs, one more read).
   */
  reload(): Promise<ReloadOutcome> {
    if (this.#closed) return Promise.resolve("closed");
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = (async () => {
      let outcome: ReloadOutcome;
      do {
        this.#again = false;
        outcome = await this.#reloadOnce();
        this.#deps.metrics.inc(RELOADS[0], RELOADS[1], { outcome });
      } while (this.#again && !this.#closed);
      return outcome;
    })();
    this.#running = run.finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Shuts the running graph down, after a reload under way; no reload starts after. */
  async close(reason: string): Promise<void> {
    this.#closed = true;
    await this.#running;
    await this.#current.shutdown.run(reason, { quiet: true });
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    const { logger: log, configArg } = this.#deps;
    const file = configFileOf(configArg);
    if (file === undefined) {
      log.warn(
        "SIGHUP: --config is inline JSON, there is no file to re-read; keeping the running config",
      );
      return "inline";
    }
    let config: ProxyConfig;
    try {
      config = await loadConfig(configArg, this.#deps.configOptions);
    } catch (err) {
      log.error(`SIGHUP: ${file} not applied, keeping the running config: ${describeError(err)}`);
      return "invalid";
    }
    const old = this.#current;
    if (JSON.stringify(config) === JSON.stringify(old.config)) {
      log.info(`SIGHUP: ${file} is unchanged; nothing to do`);
      return "unchanged";
    }
    let next: Graph;
    try {
      next = await this.#deps.build(config);
    } catch (err) {
      log.error(`SIGHUP: ${file} not applied, keeping the running config: ${describeError(err)}`);
      return "invalid";
    }
    const checked = await next.backend.validate(placeholderSnapshot(config));
    if (!checked.ok) {
      await next.close();
      log.error(
        `SIGHUP: ${file} not applied, keeping the running config: ${next.backend.name} ` +
          `refuses the config it renders:\n${checked.error}`,
      );
      return "rejected";
    }
    log.info(`SIGHUP: applying ${file}: stopping the running config, starting the new one`);
    await old.shutdown.run("config reload", { quiet: true });
    try {
      await next.app.start();
    } catch (err) {
      log.error(
        `SIGHUP: the new config did not start (${
          describeError(err)
        }); starting the previous one again`,
      );
      await next.close();
      await this.#restart(old.config);
      return "failed";
    }
    this.#current = next;
    log.info(`SIGHUP: now running ${file}`);
    return "applied";
  }

  /** Builds and starts `config` again, after a new config failed to start. */
  async #restart(config: ProxyConfig): Promise<void> {
    try {
      const again = await this.#deps.build(config);
      this.#current = again;
      await again.app.start();
    } catch (err) {
      // Nothing left to try: nginx serves its last config, aurproxy no longer updates it.
      this.#deps.logger.error(
        `SIGHUP: the previous config did not start again either (${describeError(err)}): ` +
          `nginx keeps its last config but is no longer updated; restart aurproxy`,
      );
    }
  }
}

/** The SIGHUP listener of {@linkcode listenForHangups}. */
export interface HangupListener {
  /** The graph has started: reload now for a SIGHUP that came during the start. */
  ready(): void;
  /** Stops listening (a shutdown step of the close phase). */
  stop(): void;
}

/**
 * Reloads `live` on each SIGHUP, which would otherwise end the process (its default
 * action). A SIGHUP during the start is acted on once {@linkcode HangupListener.ready}.
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import type { LiveGraph } from "./reload.ts";
 *
 * async function wire(live: LiveGraph) {
 *   const hangups = listenForHangups(live, memoryLogger());
 *   await live.current.app.start();
 *   hangups.ready();
 *   return hangups.stop;
 * }
 * ```
 */
export function listenForHangups(live: LiveGraph, log: Logger): HangupListener {
  let ready = false;
  let pending = false;
  const reload = () => {
    live.reload().catch((err) => log.error("SIGHUP: reloading the config failed", err));
  };
  const stop = listenForSignals(["SIGHUP"], () => {
    if (ready) return reload();
    pending = true;
    log.info("SIGHUP while starting: --config is re-read once started");
  });
  return {
    ready: () => {
      ready = true;
      if (pending) reload();
    },
    stop,
  };
}
