/**
 * The nginx backend: render → compare (comments aside) → write temp → `nginx -t` → keep
 * the last config nginx ran as `<file>.1` → atomic rename → SIGHUP → confirm. A config
 * that fails `nginx -t` never goes live; a failed reload leaves nginx serving its previous
 * config, and the next apply reloads again until nginx confirms. A config that passes
 * `nginx -t` but leaves nginx without workers is rolled back to `<file>.1` (see
 * `rollback.ts`) and not tried again until the desired config changes. The write is
 * `swapTested` (`binary.ts`); the reload and what it teaches of the live file,
 * `live_reload.ts`.
 *
 * Only the nginx master running `configuration_file` is signalled (see `master.ts`).
 *
 * @module
 */

import type { NginxOptions } from "./options.ts";
import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { HealthCheckResult } from "../../model/health.ts";
import type { ProxySnapshot } from "../../model/snapshot.ts";
import { renderNginx } from "./render.ts";
import type {
  ApplyResult,
  ProxyBackend,
  ProxyProcessStatus,
  ValidationResult,
} from "../backend.ts";
import { type NginxBinary, resolveNginx, swapTested, testConfig } from "./binary.ts";
import { removeLeftovers } from "./config_file.ts";
import { NGINX_METRICS, type NginxMetric } from "./metrics.ts";
import { type LiveState, reloadLive } from "./live_reload.ts";
import { NginxWatch } from "./watch.ts";
import { configMeaning, workerCountOf } from "./config_text.ts";
import { readLiveUpstreams } from "./live_config.ts";
import { NginxStats } from "../../metrics/nginx_stats.ts";
import { type OwnNginx, ownNginxArgv, startOwnNginx, stopDeadlineMs } from "./supervised.ts";

export { configMeaning } from "./config_text.ts";

export interface NginxBackendDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** How long to wait for new workers after SIGHUP. */
  readonly reloadTimeoutMs?: number;
}

/**
 * Signals an nginx started by someone else (the Aurora task, an init system), found
 * through the pid file; or, after {@linkcode NginxBackend.start} (`run --supervise`), runs
 * nginx itself as its child (`supervised.ts`) and signals only that child.
 *
 * @example
 * ```ts
 * import type { Logger } from "../../log.ts";
 * import type { MetricsRegistry } from "../../metrics/registry.ts";
 * import type { ProxySnapshot } from "../../model/snapshot.ts";
 * import type { NginxOptions } from "./options.ts";
 *
 * async function update(options: NginxOptions, snapshot: ProxySnapshot, logger: Logger, metrics: MetricsRegistry) {
 *   const nginx = new NginxBackend(options, { logger, metrics });
 *   const result = await nginx.apply(snapshot, { reload: true });
 *   return { result, health: nginx.health() };
 * }
 * ```
 */
export class NginxBackend implements ProxyBackend {
  readonly name = "nginx";
  readonly options: NginxOptions;
  readonly #deps: NginxBackendDeps;
  readonly #watch: NginxWatch;
  #binary?: NginxBinary;
  /** What is known of the live file (`live_reload.ts`). */
  readonly #state: LiveState = { confirmation: "unknown" };
  /** The nginx aurproxy runs itself (supervising mode), shared with adopting backends. */
  #own?: OwnNginx;
  /** nginx's stub_status, with `stats_port`; made when first asked for. */
  #stats?: NginxStats;

  constructor(options: NginxOptions, deps: NginxBackendDeps) {
    this.options = options;
    this.#deps = deps;
    this.#watch = new NginxWatch(options, () => this.binary);
    for (const m of Object.values(NGINX_METRICS)) deps.metrics.declareCounter(m[0], m[1]);
  }

  /** The nginx executable, found once. */
  get binary(): NginxBinary {
    return this.#binary ??= resolveNginx(this.options.binary);
  }

  /**
   * nginx's `stub_status` counters, when the config sets `stats_port`. Made on first read
   * (declaring its gauges then), so only the backend `run` polls declares them.
   */
  get stats(): NginxStats | undefined {
    const port = this.options.statsPort;
    if (port === undefined) return undefined;
    return this.#stats ??= new NginxStats({
      port,
      metrics: this.#deps.metrics,
      logger: this.#deps.logger.child("metrics"),
    });
  }

  render(snapshot: ProxySnapshot): string {
    return renderNginx(snapshot, {
      pidPath: this.options.pidPath,
      statsPort: this.options.statsPort,
      streamModulePath: this.binary.streamModulePath,
      privatePrefix: this.options.prefix !== undefined,
    });
  }

  /**
   * Renders and runs `nginx -t` on the result in a temp dir: touches nothing live and
   * needs no access to the live config's directory. Everything `nginx -t` opens or
   * creates (the pid file, temp paths, log files) is put in that dir, which is removed
   * after: the check leaves nothing behind.
   */
  async validate(snapshot: ProxySnapshot): Promise<ValidationResult> {
    const dir = await Deno.makeTempDir({ prefix: "aurproxy-validate-" });
    try {
      await Deno.mkdir(`${dir}/temp`);
      const text = renderNginx(snapshot, {
        pidPath: `${dir}/nginx.pid`,
        statsPort: this.options.statsPort,
        streamModulePath: this.binary.streamModulePath,
        privatePrefix: true,
        logDir: dir,
      });
      await Deno.writeTextFile(`${dir}/nginx.conf`, text);
      return await testConfig(this.binary, `${dir}/nginx.conf`, dir);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /**
   * What aurproxy sees of nginx, for /health: failed when nginx is not running (or the
   * pid file names something else), runs another file, or has no worker; degraded while
   * the live file is missing (nginx still runs what it loaded; it is rewritten at the
   * next update).
   */
  health(): HealthCheckResult {
    const seen = this.#watch.health();
    if (!this.drifted()) return seen;
    const missing = `${this.options.configurationFile} is missing (deleted?): aurproxy ` +
      `writes it again at the next update; nginx runs the config it loaded`;
    return {
      level: seen.level === "ok" ? "degraded" : seen.level,
      lines: [...seen.lines, missing],
    };
  }

  /** True when the live file aurproxy wrote has gone: the next update writes it again. */
  drifted(): boolean {
    if (typeof this.#state.meaning !== "string") return false;
    try {
      Deno.statSync(this.options.configurationFile);
      return false;
    } catch (err) {
      return err instanceof Deno.errors.NotFound;
    }
  }

  /**
   * Supervising mode: starts nginx on the live file (written by the first apply) as
   * aurproxy's child and resolves once a worker accepts; rejects with nginx's own words
   * when it exits first. Reloads then signal that child, found through its supervisor.
   */
  async start(): Promise<void> {
    if (this.#own) return;
    const { own, text } = await startOwnNginx(this.binary, this.options, this.#deps.logger);
    this.#supervise(own);
    // It runs the live file: the first update need not reload it.
    this.#state.confirmation = "confirmed";
    this.#state.workerCount = workerCountOf(text);
  }

  /**
   * Takes over the nginx `previous` runs (the backend of the graph a SIGHUP replaces), so
   * nginx keeps running across the swap; why not, when it would then run another file.
   */
  adopt(previous: ProxyBackend): string | undefined {
    const own = previous instanceof NginxBackend ? previous.#own : undefined;
    if (!own) return `the running proxy is not an nginx aurproxy supervises`;
    const why = own.whyNotFor(ownNginxArgv(this.binary, this.options));
    if (why === undefined) this.#supervise(own);
    return why;
  }

  /**
   * Stops the supervised nginx: SIGQUIT, then SIGKILL to its process group once
   * `deadlineMs` (default: the live config's worker_shutdown_timeout plus 2 s, or 30 s)
   * has passed. Nothing to do when aurproxy does not run nginx.
   */
  async stop(opts: { readonly deadlineMs?: number } = {}): Promise<void> {
    const own = this.#own;
    if (!own) return;
    const text = await Deno.readTextFile(this.options.configurationFile).catch(() => "");
    await own.stop(opts.deadlineMs ?? stopDeadlineMs(text));
  }

  /** The supervised nginx's state; undefined when aurproxy does not run nginx. */
  status(): ProxyProcessStatus | undefined {
    return this.#own?.status();
  }

  #supervise(own: OwnNginx): void {
    this.#own = own;
    this.#watch.supervise(own);
  }

  /** What the live file sends traffic to (see `live_config.ts`). */
  liveEndpoints(): ReturnType<typeof readLiveUpstreams> {
    return readLiveUpstreams(this.options.configurationFile);
  }

  async apply(snapshot: ProxySnapshot, opts: { reload: boolean }): Promise<ApplyResult> {
    const started = performance.now();
    const file = this.options.configurationFile;
    const text = this.render(snapshot);
    this.#trace("rendered");
    try {
      if (this.#state.meaning === undefined) await this.#readLive();
      const meaning = configMeaning(text);
      if (meaning === this.#state.refused?.meaning) return this.#state.refused.result;
      this.#state.refused = undefined;
      // Deleted by hand: write it again. What nginx runs is what we wrote, if confirmed.
      const rewrite = this.drifted() && meaning === this.#state.meaning &&
        this.#state.confirmation === "confirmed";
      if (this.drifted()) {
        this.#deps.logger.warn(`${file} was deleted: writing it again`);
        this.#state.meaning = null;
      }
      const same = meaning === this.#state.meaning;
      if (same && (!opts.reload || this.#state.confirmation === "confirmed")) {
        this.#trace("unchanged");
        return { kind: "unchanged" };
      }
      if (!same) {
        const tested = await swapTested(this.binary, file, text, {
          prefix: this.options.prefix,
          // `.1` is the last config nginx ran, not one it never loaded.
          keepPrevious: this.#state.meaning !== null &&
            this.#state.confirmation !== "unconfirmed",
          trace: (step) => this.#trace(step),
        });
        if (!tested.ok) {
          this.#inc(NGINX_METRICS.invalid);
          this.#deps.logger.error(
            `nginx -t rejected the new config; keeping ${file}:\n${tested.error}`,
          );
          return { kind: "invalid", error: tested.error };
        }
        this.#state.meaning = meaning;
        this.#inc(NGINX_METRICS.writes);
        if (rewrite) {
          return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
        }
        // `--setup` writes for an nginx yet to start: it will run this file.
        this.#state.confirmation = opts.reload ? "unconfirmed" : "unknown";
      }
      if (!opts.reload) {
        return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
      }
      return await reloadLive(
        this.#state,
        {
          configurationFile: file,
          watch: this.#watch,
          own: this.#own,
          metrics: this.#deps.metrics,
          timeoutMs: this.#deps.reloadTimeoutMs ?? 5000,
          trace: (step) => this.#trace(step),
        },
        text,
        meaning,
        started,
      );
    } catch (err) {
      this.#inc(NGINX_METRICS.errors);
      const why = err instanceof Error ? err.message : String(err);
      return { kind: "error", error: `applying ${file} failed: ${why}` };
    }
  }

  /** First apply: leftovers of earlier runs removed, the live file read. */
  async #readLive(): Promise<void> {
    const file = this.options.configurationFile;
    const removed = await removeLeftovers(file);
    if (removed.length) {
      this.#deps.logger.info(`removed temp files of an earlier run: ${removed.join(", ")}`);
    }
    const live = await Deno.readTextFile(file).catch(() => undefined);
    this.#state.workerCount = live === undefined ? undefined : workerCountOf(live);
    this.#state.meaning = live === undefined ? null : configMeaning(live);
  }

  /** Step timestamps for bench/discovery's breakdown (debug level: off in production). */
  #trace(step: string): void {
    const t = performance.timeOrigin + performance.now();
    this.#deps.logger.debug(`trace ${step} t=${t.toFixed(2)}`);
  }

  #inc(m: NginxMetric): void {
    this.#deps.metrics.inc(m[0], m[1]);
  }
}
