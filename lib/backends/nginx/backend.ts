/**
 * The nginx backend: render → compare (comments aside) → write temp → `nginx -t` → keep
 * the last config nginx ran as `<file>.1` → atomic rename → SIGHUP → confirm. A config
 * that fails `nginx -t` never goes live; a failed reload leaves nginx serving its previous
 * config, and the next apply reloads again until nginx confirms. A config that passes
 * `nginx -t` but leaves nginx without workers is rolled back to `<file>.1` (see
 * `rollback.ts`) and not tried again until the desired config changes.
 *
 * Only the nginx master running `configuration_file` is signalled (see `master.ts`).
 *
 * @module
 */

import { dirname } from "node:path";
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
import { type NginxBinary, resolveNginx, testConfig } from "./binary.ts";
import { keepCopy, removeLeftovers, tempPathFor, writeSynced } from "./config_file.ts";
import { NGINX_METRICS, type NginxMetric } from "./metrics.ts";
import { reloadAndWatch } from "./reload.ts";
import { restorePrevious } from "./rollback.ts";
import { NginxWatch } from "./watch.ts";
import { configMeaning, workerCountOf } from "./config_text.ts";
import { readLiveUpstreams } from "./live_config.ts";
import { type OwnNginx, ownNginxArgv, startOwnNginx, stopDeadlineMs } from "./supervised.ts";

export { configMeaning } from "./config_text.ts";
import type { ProcInfo } from "./process.ts";

export interface NginxBackendDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** How long to wait for new workers after SIGHUP. */
  readonly reloadTimeoutMs?: number;
}

/**
 * What is known of the live file: nginx confirmed loading it, it was written but nginx
 * has not confirmed it (its reload failed, or is still to be done), or it was found at
 * start-up (presumably what nginx runs; reloaded once to be sure).
 */
type LiveState = "confirmed" | "unconfirmed" | "unknown";

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
  #live: LiveState = "unknown";
  /**
   * {@linkcode configMeaning} of the live file: read once, then kept as we write it (the
   * file is aurproxy's), so an update neither re-reads nor re-parses 2,000 server lines.
   * `null`: there is no live file. Undefined until the first apply.
   */
  #liveMeaning?: string | null;
  /** Workers the running config asks for (from the last file we wrote or found live). */
  #liveWorkerCount?: number;
  /** A config nginx could not run (rolled back): refused until the desired config changes. */
  #refused?: { readonly meaning: string; readonly result: ApplyResult };
  /** The nginx aurproxy runs itself (supervising mode), shared with adopting backends. */
  #own?: OwnNginx;

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
    if (typeof this.#liveMeaning !== "string") return false;
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
    this.#live = "confirmed";
    this.#liveWorkerCount = workerCountOf(text);
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
    let tmp: string | undefined;
    try {
      if (this.#liveMeaning === undefined) await this.#readLive();
      const meaning = configMeaning(text);
      if (meaning === this.#refused?.meaning) return this.#refused.result;
      this.#refused = undefined;
      // Deleted by hand: write it again. What nginx runs is what we wrote, if confirmed.
      const rewrite = this.drifted() && meaning === this.#liveMeaning &&
        this.#live === "confirmed";
      if (this.drifted()) {
        this.#deps.logger.warn(`${file} was deleted: writing it again`);
        this.#liveMeaning = null;
      }
      const same = meaning === this.#liveMeaning;
      if (same && (!opts.reload || this.#live === "confirmed")) {
        this.#trace("unchanged");
        return { kind: "unchanged" };
      }
      if (!same) {
        await Deno.mkdir(dirname(file), { recursive: true });
        if (this.options.prefix) {
          await Deno.mkdir(`${this.options.prefix}/temp`, { recursive: true });
        }
        tmp = tempPathFor(file);
        await writeSynced(tmp, text);
        this.#trace("written");
        const tested = await testConfig(this.binary, tmp, this.options.prefix);
        if (!tested.ok) {
          this.#inc(NGINX_METRICS.invalid);
          this.#deps.logger.error(
            `nginx -t rejected the new config; keeping ${file}:\n${tested.error}`,
          );
          return { kind: "invalid", error: tested.error };
        }
        this.#trace("validated");
        // `.1` is the last config nginx ran, not one it never loaded.
        if (this.#liveMeaning !== null && this.#live !== "unconfirmed") {
          // Gone meanwhile (removed by hand): then there is nothing to keep.
          await keepCopy(file, `${file}.1`).catch((err) => {
            if (!(err instanceof Deno.errors.NotFound)) throw err;
          });
        }
        await Deno.rename(tmp, file);
        this.#trace("renamed");
        tmp = undefined;
        this.#liveMeaning = meaning;
        this.#inc(NGINX_METRICS.writes);
        if (rewrite) {
          return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
        }
        // `--setup` writes for an nginx yet to start: it will run this file.
        this.#live = opts.reload ? "unconfirmed" : "unknown";
      }
      if (!opts.reload) {
        return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
      }
      return await this.#reload(text, meaning, started);
    } catch (err) {
      this.#inc(NGINX_METRICS.errors);
      const why = err instanceof Error ? err.message : String(err);
      return { kind: "error", error: `applying ${file} failed: ${why}` };
    } finally {
      if (tmp !== undefined) await Deno.remove(tmp).catch(() => {});
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
    this.#liveWorkerCount = live === undefined ? undefined : workerCountOf(live);
    this.#liveMeaning = live === undefined ? null : configMeaning(live);
  }

  async #reload(text: string, meaning: string, started: number): Promise<ApplyResult> {
    const check = this.#watch.check();
    const why = this.#watch.whyNot(check);
    if (why !== undefined || check.kind !== "ours") {
      this.#inc(NGINX_METRICS.reloadFailures);
      return {
        kind: "reload_failed",
        error: `${why}; config written to ${this.options.configurationFile}`,
      };
    }
    this.#trace("signalling");
    const master = check.proc;
    const own = this.#own;
    if (own && !own.ready()) {
      this.#inc(NGINX_METRICS.reloadFailures);
      return {
        kind: "reload_failed",
        error: `nginx (pid ${master.pid}) was just started again and is not ready for a ` +
          `reload; it runs ${this.options.configurationFile}, and is reloaded at the next update`,
      };
    }
    const outcome = await reloadAndWatch(master, {
      timeoutMs: this.#deps.reloadTimeoutMs ?? 5000,
      expectedWorkers: this.#liveWorkerCount ?? 1,
      hangUp: own && (() => own.hangUp()),
    });
    switch (outcome.kind) {
      case "reloaded":
        this.#trace("confirmed");
        this.#watch.remember(master, outcome.workers);
        this.#confirmed(workerCountOf(text));
        return this.#applied(started);
      case "kept_previous":
        this.#inc(NGINX_METRICS.reloadFailures);
        return {
          kind: "reload_failed",
          error: `nginx (pid ${master.pid}) did not start new workers after SIGHUP: its ` +
            `previous workers (${outcome.workers.length}) still serve its previous config; ` +
            `its error log says why (e.g. a port it cannot bind)`,
        };
      case "exited":
        this.#inc(NGINX_METRICS.reloadFailures);
        return {
          kind: "reload_failed",
          error: `nginx (pid ${master.pid}) exited after SIGHUP; its error log says why`,
        };
      case "no_workers":
        return await this.#rollBack(master, meaning);
    }
  }

  /** No worker left after the reload: the live file goes back to `.1`, reloaded. */
  async #rollBack(master: ProcInfo, meaning: string): Promise<ApplyResult> {
    this.#inc(NGINX_METRICS.reloadFailures);
    const own = this.#own;
    const r = await restorePrevious(master, this.options.configurationFile, {
      timeoutMs: this.#deps.reloadTimeoutMs ?? 5000,
      hangUp: own && (() => own.hangUp()),
    });
    if (r.kind === "failed") {
      this.#refused = { meaning, result: { kind: "reload_failed", error: r.error } };
      return this.#refused.result;
    }
    this.#inc(NGINX_METRICS.rollbacks);
    this.#watch.remember(master, r.workers);
    this.#liveMeaning = configMeaning(r.text);
    this.#confirmed(workerCountOf(r.text));
    this.#refused = { meaning, result: { kind: "invalid", error: r.error } };
    return this.#refused.result;
  }

  /** nginx runs the live file, with `workers` workers. */
  #confirmed(workers: number): void {
    this.#live = "confirmed";
    this.#liveWorkerCount = workers;
    this.#inc(NGINX_METRICS.reloads);
    const { metrics } = this.#deps;
    metrics.set("last_reload_timestamp_seconds", "When nginx last reloaded.", Date.now() / 1000);
  }

  #applied(started: number): ApplyResult {
    const durationMs = performance.now() - started;
    this.#deps.metrics.set(
      "last_apply_duration_seconds",
      "Duration of the last successful apply.",
      durationMs / 1000,
    );
    return { kind: "applied", reloaded: true, durationMs };
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
