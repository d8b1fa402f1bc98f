/**
 * The nginx backend: render → compare (comments aside) → write temp → `nginx -t` → keep
 * the last config nginx ran as `<file>.1` → atomic rename → SIGHUP → confirm. A config
 * that fails `nginx -t` never goes live; a failed reload leaves nginx serving its previous
 * config, and the next apply reloads again until nginx confirms.
 *
 * @module
 */

import { dirname } from "node:path";
import type { NginxOptions } from "../../model/config.ts";
import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { ProxySnapshot } from "../../model/snapshot.ts";
import { renderNginx } from "./render.ts";
import type { ApplyResult, ProxyBackend } from "../backend.ts";
import { type NginxBinary, resolveNginx, testConfig, type TestResult } from "./binary.ts";
import { readMasterPid, reloadAndConfirm } from "./process.ts";

/** Workers nginx runs for a `worker_processes` value ("auto": one per CPU). */
function workersFor(value: string): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : navigator.hardwareConcurrency || 1;
}

function workerCount(snapshot: ProxySnapshot): number {
  return workersFor(String(snapshot.context.worker_processes ?? "auto"));
}

function workerCountOf(configText: string): number {
  return workersFor(/^worker_processes\s+([^;]+);/m.exec(configText)?.[1] ?? "1");
}

/**
 * The config without its comments: the audit comments change with every health check and
 * ramp step, and a reload for a comment would be pure cost (new workers, cold upstream
 * connections). Safe because nothing aurproxy renders outside a comment contains `#`.
 */
export function configMeaning(text: string): string {
  return text.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trimEnd()).filter(Boolean)
    .join("\n");
}

export interface NginxBackendDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** How long to wait for new workers after SIGHUP. */
  readonly reloadTimeoutMs?: number;
}

const M = {
  writes: ["config_writes_total", "nginx configs written to the live path."],
  invalid: ["validation_failures_total", "Rendered configs rejected by nginx -t."],
  reloads: ["reloads_total", "nginx reloads confirmed (new workers started)."],
  reloadFailures: ["reload_failures_total", "nginx reloads that failed or were not confirmed."],
  errors: ["apply_errors_total", "Applies that failed writing the config or signalling nginx."],
} as const;

/**
 * What is known of the live file: nginx confirmed loading it, it was written but nginx
 * has not confirmed it (its reload failed, or is still to be done), or it was found at
 * start-up (presumably what nginx runs; reloaded once to be sure).
 */
type LiveState = "confirmed" | "unconfirmed" | "unknown";

/**
 * @example
 * ```ts
 * const nginx = new NginxBackend(config.nginx, { logger, metrics });
 * const result = await nginx.apply(snapshot, { reload: true });
 * ```
 */
export class NginxBackend implements ProxyBackend {
  readonly name = "nginx";
  readonly options: NginxOptions;
  readonly #deps: NginxBackendDeps;
  #binary?: NginxBinary;
  #live: LiveState = "unknown";
  /**
   * {@linkcode configMeaning} of the live file: read once, then kept as we write it (the
   * file is aurproxy's), so an update neither re-reads nor re-parses 2,000 server lines.
   * `null`: there is no live file.
   */
  #liveMeaning?: string | null;
  /** Workers the running config asks for (from the last file we wrote or found live). */
  #liveWorkerCount?: number;

  constructor(options: NginxOptions, deps: NginxBackendDeps) {
    this.options = options;
    this.#deps = deps;
    for (const m of Object.values(M)) deps.metrics.declareCounter(m[0], m[1]);
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
   * needs no access to the live config's directory.
   */
  async test(snapshot: ProxySnapshot): Promise<TestResult> {
    const dir = await Deno.makeTempDir({ prefix: "aurproxy-validate-" });
    try {
      if (this.options.prefix) await Deno.mkdir(`${this.options.prefix}/temp`, { recursive: true });
      await Deno.writeTextFile(`${dir}/nginx.conf`, this.render(snapshot));
      return await testConfig(this.binary, `${dir}/nginx.conf`, this.options.prefix);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  async apply(snapshot: ProxySnapshot, opts: { reload: boolean }): Promise<ApplyResult> {
    const started = performance.now();
    const file = this.options.configurationFile;
    const text = this.render(snapshot);
    this.#trace("rendered");
    let tmp: string | undefined;
    try {
      if (this.#liveMeaning === undefined) {
        const live = await Deno.readTextFile(file).catch(() => undefined);
        this.#liveWorkerCount = live === undefined ? undefined : workerCountOf(live);
        this.#liveMeaning = live === undefined ? null : configMeaning(live);
      }
      const meaning = configMeaning(text);
      const same = meaning === this.#liveMeaning;
      if (same && (!opts.reload || this.#live === "confirmed")) {
        this.#trace("unchanged");
        return { kind: "unchanged" };
      }
      if (!same) {
        tmp = await this.#writeTemp(text);
        this.#trace("written");
        const tested = await testConfig(this.binary, tmp, this.options.prefix);
        if (!tested.ok) {
          this.#inc(M.invalid);
          this.#deps.logger.error(
            `nginx -t rejected the new config; keeping ${file}:\n${tested.error}`,
          );
          return { kind: "invalid", error: tested.error };
        }
        this.#trace("validated");
        // `.1` is the last config nginx ran, not one it never loaded.
        if (this.#liveMeaning !== null && this.#live !== "unconfirmed") {
          // Gone meanwhile (removed by hand): then there is nothing to keep.
          await Deno.copyFile(file, `${file}.1`).catch((err) => {
            if (!(err instanceof Deno.errors.NotFound)) throw err;
          });
        }
        await Deno.rename(tmp, file);
        this.#trace("renamed");
        tmp = undefined;
        this.#liveMeaning = meaning;
        this.#inc(M.writes);
        // `--setup` writes for an nginx yet to start: it will run this file.
        this.#live = opts.reload ? "unconfirmed" : "unknown";
      }
      if (!opts.reload) {
        return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
      }
      return await this.#reload(snapshot, started);
    } catch (err) {
      this.#inc(M.errors);
      const why = err instanceof Error ? err.message : String(err);
      return { kind: "error", error: `applying ${file} failed: ${why}` };
    } finally {
      if (tmp !== undefined) await Deno.remove(tmp).catch(() => {});
    }
  }

  async #reload(snapshot: ProxySnapshot, started: number): Promise<ApplyResult> {
    const { metrics } = this.#deps;
    const pid = await readMasterPid(this.options.pidPath);
    if (pid === undefined) {
      this.#inc(M.reloadFailures);
      return {
        kind: "reload_failed",
        error: `nginx is not running (no live pid in ${this.options.pidPath}): config written ` +
          `to ${this.options.configurationFile}; start nginx with it`,
      };
    }
    this.#trace("signalling");
    const ok = await reloadAndConfirm(
      pid,
      this.#deps.reloadTimeoutMs ?? 5000,
      this.#liveWorkerCount ?? 1,
    );
    if (!ok) {
      this.#inc(M.reloadFailures);
      return {
        kind: "reload_failed",
        error: `nginx (pid ${pid}) did not start new workers after SIGHUP: it is still serving ` +
          `its previous config; see its error log`,
      };
    }
    this.#trace("confirmed");
    this.#live = "confirmed";
    this.#liveWorkerCount = workerCount(snapshot);
    this.#inc(M.reloads);
    const durationMs = performance.now() - started;
    metrics.set(
      "apply_duration_seconds",
      "Duration of the last successful apply.",
      durationMs / 1000,
    );
    metrics.set("last_reload_timestamp_seconds", "When nginx last reloaded.", Date.now() / 1000);
    return { kind: "applied", reloaded: true, durationMs };
  }

  /** Step timestamps for bench/discovery's breakdown (debug level: off in production). */
  #trace(step: string): void {
    const t = performance.timeOrigin + performance.now();
    this.#deps.logger.debug(`trace ${step} t=${t.toFixed(2)}`);
  }

  #inc(m: readonly [string, string]): void {
    this.#deps.metrics.inc(m[0], m[1]);
  }

  /** Writes `text` beside the live file (same filesystem, so the rename is atomic). */
  async #writeTemp(text: string): Promise<string> {
    const file = this.options.configurationFile;
    await Deno.mkdir(dirname(file), { recursive: true });
    if (this.options.prefix) await Deno.mkdir(`${this.options.prefix}/temp`, { recursive: true });
    const tmp = `${file}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.writeTextFile(tmp, text);
    return tmp;
  }
}
