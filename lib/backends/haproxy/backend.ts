/**
 * The HAProxy backend. Each apply plans the slot layout (`slots.ts`) and renders it; then:
 * - same text as HAProxy runs: `unchanged`;
 * - same structure (only server addresses, weights and states differ: joins and leaves
 *   that fit in free slots, weight changes): the runtime API applies them (`set server`),
 *   `show servers state` is read back and compared with the layout, and the file is
 *   rewritten (no `haproxy -c`: its structure passed it already) so that a reload or a
 *   restart serves the same. No reload, HAProxy's pids unchanged;
 * - otherwise, or when the runtime API failed or its state differs: write a temp file,
 *   `haproxy -c`, rename over the live file, reload through the master CLI and confirm
 *   (see `master.ts`). A config HAProxy rejects at reload is replaced by the previous one
 *   again (its old workers still serve it) and not tried again until the desired config
 *   changes.
 *
 * What HAProxy runs is known only after a confirmed reload or runtime change: at start,
 * and after `reload: false`, the next apply reloads. That knowledge, and the rewrite and
 * reload of the live file that change it, are `live_reload.ts`'s.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { HealthCheckResult } from "../../model/health.ts";
import type { ProxySnapshot } from "../../model/snapshot.ts";
import type {
  ApplyResult,
  LiveUpstreams,
  ProxyBackend,
  ProxyProcessStatus,
  ValidationResult,
} from "../backend.ts";
import { removeLeftovers } from "../nginx/config_file.ts";
import { whyNotOurMaster } from "./reload.ts";
import { checkConfig, resolveHaproxy, swapChecked } from "./binary.ts";
import { liveServers, readLayout, structureOf } from "./layout_file.ts";
import { MasterCli } from "./master_cli.ts";
import { inc, type LiveFileDeps, type LiveState, reloadLive, writeLive } from "./live_reload.ts";
import { RuntimeApi } from "./runtime_api.ts";
import { applyAtRuntime } from "./runtime_apply.ts";
import type { HaproxyOptions } from "./options.ts";
import { renderHaproxy } from "./render.ts";
import { planSlots, type SlotLayout } from "./slots.ts";
import { HaproxyProcess } from "./process.ts";
import { stopDeadlineMs } from "./context_map.ts";
import { HAPROXY_METRICS, type HaproxyMetric, HaproxyStats } from "./metrics.ts";

/** What the backend gets from the wiring. */
export interface HaproxyBackendDeps {
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** How long to wait for the new worker after a reload (default 5 s). */
  readonly reloadTimeoutMs?: number;
}

/**
 * @example
 * ```ts
 * import type { Logger } from "../../log.ts";
 * import type { MetricsRegistry } from "../../metrics/registry.ts";
 * import type { ProxySnapshot } from "../../model/snapshot.ts";
 * import type { HaproxyOptions } from "./options.ts";
 *
 * async function update(options: HaproxyOptions, snapshot: ProxySnapshot, logger: Logger, metrics: MetricsRegistry) {
 *   const haproxy = new HaproxyBackend(options, { logger, metrics });
 *   return await haproxy.apply(snapshot, { reload: true }); // reloads once, then runtime API
 * }
 * ```
 */
export class HaproxyBackend implements ProxyBackend {
  readonly name = "haproxy";
  readonly options: HaproxyOptions;
  readonly #deps: HaproxyBackendDeps;
  #binary?: string;
  /** What is known of the live file and of what HAProxy runs (`live_reload.ts`). */
  /** Shared with a backend that adopts this one's HAProxy (a SIGHUP), never copied. */
  #state: LiveState = { layoutRead: false };
  #process?: HaproxyProcess;
  readonly #stats: HaproxyStats;
  /** The worker's stats socket. */
  readonly #api: RuntimeApi;
  /** The master CLI. */
  readonly #master: MasterCli;

  constructor(options: HaproxyOptions, deps: HaproxyBackendDeps) {
    this.options = options;
    this.#deps = deps;
    for (const m of Object.values(HAPROXY_METRICS)) deps.metrics.declareCounter(m[0], m[1]);
    this.#api = new RuntimeApi({ socketPath: options.statsSocket });
    this.#master = new MasterCli({ socketPath: options.masterSocket });
    this.#stats = new HaproxyStats(this.#api, deps.metrics, deps.logger);
  }

  /** The haproxy executable, found once. */
  get binary(): string {
    return this.#binary ??= resolveHaproxy(this.options.binary);
  }

  /** HAProxy's own counters (`show stat`), for the metrics wiring to poll before a scrape. */
  get stats(): HaproxyStats {
    return this.#stats;
  }

  #plan(snapshot: ProxySnapshot): { layout: SlotLayout; text: string } {
    this.#readLayoutOnce();
    const layout = planSlots(snapshot, this.#state.layout, this.options.freeSlots);
    const text = renderHaproxy(snapshot, {
      pidPath: this.options.pidPath,
      statsSocket: this.options.statsSocket,
      layout,
    });
    return { layout, text };
  }

  /**
   * The text for `snapshot`; which slot an endpoint gets depends on the layout applied so
   * far (an endpoint keeps its slot), so it is pure for a given backend state.
   */
  render(snapshot: ProxySnapshot): string {
    return this.#plan(snapshot).text;
  }

  /** Renders into a temp dir and runs `haproxy -c` there: touches nothing live. */
  async validate(snapshot: ProxySnapshot): Promise<ValidationResult> {
    const dir = await Deno.makeTempDir({ prefix: "aurproxy-validate-" });
    try {
      await Deno.writeTextFile(`${dir}/haproxy.cfg`, this.render(snapshot));
      return await checkConfig(this.binary, `${dir}/haproxy.cfg`);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** A live file aurproxy wrote, read once: its slots are where planning starts. */
  #readLayoutOnce(): void {
    if (this.#state.layoutRead) return;
    this.#state.layoutRead = true;
    try {
      const text = Deno.readTextFileSync(this.options.configurationFile);
      this.#state.layout = readLayout(text);
    } catch { /* none yet */ }
  }

  async apply(snapshot: ProxySnapshot, opts: { reload: boolean }): Promise<ApplyResult> {
    const started = performance.now();
    const file = this.options.configurationFile;
    const { layout, text } = this.#plan(snapshot);
    try {
      if (this.#state.written === undefined) await this.#firstApply();
      if (text === this.#state.refused?.text) return this.#state.refused.result;
      this.#state.refused = undefined;
      const running = this.#state.running;
      if (running?.text === text && this.#state.written === text && !this.drifted()) {
        return { kind: "unchanged" };
      }
      if (!opts.reload && this.#state.written === text) return { kind: "unchanged" };
      const structure = structureOf(text);
      if (opts.reload && running && running.structure === structure) {
        const why = await applyAtRuntime(this.#api, running.layout, layout);
        if (why === undefined) {
          // HAProxy runs the new state now, whether or not the file can be written after.
          this.#state.running = { text, structure, layout };
          this.#inc(HAPROXY_METRICS.runtimeChanges);
          await writeLive(this.#state, this.#file, text, layout);
          return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
        }
        // Part of the batch may have been applied: what HAProxy runs is no longer known,
        // and stays unknown if the reload below is rejected too.
        this.#state.running = undefined;
        this.#inc(HAPROXY_METRICS.runtimeFailures);
        this.#deps.logger.warn(`runtime API change not applied (${why}): reloading instead`);
      }
      if (opts.reload && this.#state.written === text && !this.drifted()) {
        // Written and checked already (by --setup, or an update whose reload failed): only
        // the reload is left to do.
        this.#state.layout = layout;
        return await reloadLive(
          this.#state,
          this.#file,
          { text, structure, layout },
          started,
          undefined,
        );
      }
      // What HAProxy loaded last, presumably, when aurproxy does not know better.
      const prior = this.#state.written;
      const checked = await swapChecked(this.binary, file, text);
      if (!checked.ok) {
        this.#inc(HAPROXY_METRICS.invalid);
        this.#deps.logger.error(
          `haproxy -c rejected the new config; keeping ${file}:\n${checked.error}`,
        );
        return { kind: "invalid", error: checked.error };
      }
      this.#state.written = text;
      this.#state.layout = layout;
      this.#inc(HAPROXY_METRICS.writes);
      if (!opts.reload) {
        // Written for an HAProxy yet to start (or restarted by someone else): what runs is
        // no longer known.
        this.#state.running = undefined;
        return { kind: "applied", reloaded: false, durationMs: performance.now() - started };
      }
      return await reloadLive(this.#state, this.#file, { text, structure, layout }, started, prior);
    } catch (err) {
      this.#inc(HAPROXY_METRICS.errors);
      const why = err instanceof Error ? err.message : String(err);
      return { kind: "error", error: `applying ${file} failed: ${why}` };
    }
  }

  async #firstApply(): Promise<void> {
    const file = this.options.configurationFile;
    const removed = await removeLeftovers(file);
    if (removed.length) {
      this.#deps.logger.info(`removed temp files of an earlier run: ${removed.join(", ")}`);
    }
    this.#state.written = await Deno.readTextFile(file).catch(() => "");
  }

  /** True when the live file aurproxy wrote has gone: the next update writes it again. */
  drifted(): boolean {
    if (!this.#state.written) return false;
    try {
      Deno.statSync(this.options.configurationFile);
      return false;
    } catch (err) {
      return err instanceof Deno.errors.NotFound;
    }
  }

  /** What the live file sends traffic to, read back from its server lines. */
  async liveEndpoints(): Promise<LiveUpstreams | undefined> {
    const file = this.options.configurationFile;
    const text = await Deno.readTextFile(file).catch(() => undefined);
    if (text === undefined) return undefined;
    return { from: "the live HAProxy config", file, upstreams: liveServers(readLayout(text)) };
  }

  /**
   * Failed while a supervised HAProxy is down (it serves nothing); degraded while the live
   * file is missing (HAProxy runs what it loaded; the next update writes it again).
   */
  health(): HealthCheckResult {
    const st = this.#process?.status();
    const lines: string[] = [];
    let level: HealthCheckResult["level"] = "ok";
    if (st && st.state !== "running") {
      level = "failed";
      lines.push(`aurproxy's haproxy child is ${st.state}: ${st.detail}`);
    }
    // Started by someone else (the three-process layout): as for nginx, an HAProxy that is
    // gone fails the check, or nothing would restart the task while nothing changes.
    const why = this.#process ? undefined : whyNotOurMaster(
      this.options.pidPath,
      this.options.configurationFile,
    );
    if (why) {
      level = "failed";
      lines.push(`HAProxy is not running: ${why}`);
    }
    if (this.drifted()) {
      if (level === "ok") level = "degraded";
      lines.push(
        `${this.options.configurationFile} is missing (deleted?): aurproxy writes it again ` +
          `at the next update; HAProxy runs the config it loaded`,
      );
    }
    return { level, lines };
  }

  /**
   * Starts HAProxy (`-W -db -f FILE -S MASTER`) as a supervised child on the file the
   * first apply wrote; resolves once it has a worker. It then runs that file: the next
   * apply need not reload.
   */
  async start(): Promise<void> {
    if (this.#process) return;
    const text = await Deno.readTextFile(this.options.configurationFile);
    // Left by an aurproxy killed with SIGKILL: a second HAProxy would share its ports
    // (SO_REUSEPORT) and it would go on serving a config nobody updates.
    if (whyNotOurMaster(this.options.pidPath, this.options.configurationFile) === undefined) {
      const pid = Deno.readTextFileSync(this.options.pidPath).trim().split("\n")[0];
      throw new Error(
        `an HAProxy (pid ${pid}, from ${this.options.pidPath}) already runs ` +
          `${this.options.configurationFile}, left by an earlier aurproxy: stop it ` +
          `(kill -USR1 ${pid}) and start aurproxy again`,
      );
    }
    const proc = new HaproxyProcess({
      binary: this.binary,
      options: this.options,
      logger: this.#deps.logger.child("haproxy"),
      stopTimeoutMs: stopDeadlineMs(text),
    });
    await proc.start();
    this.#process = proc;
    this.#state.running = { text, structure: structureOf(text), layout: readLayout(text) };
  }

  /** Soft stop (SIGUSR1), SIGKILL to the group at `deadlineMs` (hard-stop-after + 2 s). */
  async stop(opts?: { readonly deadlineMs?: number }): Promise<void> {
    const text = this.#state.written ?? "";
    await this.#process?.stop(opts?.deadlineMs ?? stopDeadlineMs(text));
  }

  /** The supervised HAProxy's state; undefined when aurproxy started none. */
  status(): ProxyProcessStatus | undefined {
    return this.#process?.status();
  }

  /**
   * Takes over the HAProxy child of `previous` (the backend a SIGHUP replaces), with what
   * it knew HAProxy runs, when both run the same file, binary and master socket.
   */
  adopt(previous: ProxyBackend): string | undefined {
    if (!(previous instanceof HaproxyBackend)) {
      return `the running proxy is ${previous.name}'s, not haproxy's`;
    }
    const proc = previous.#process;
    if (!proc) return "the previous haproxy backend runs no HAProxy";
    const a = previous.options, b = this.options;
    for (const k of ["configurationFile", "masterSocket", "statsSocket"] as const) {
      if (a[k] !== b[k]) return `the running HAProxy uses ${k} ${a[k]}, the new config ${b[k]}`;
    }
    if (previous.binary !== this.binary) {
      return `the running HAProxy is ${previous.binary}, the new config names ${this.binary}`;
    }
    // Shared, not moved: the previous backend keeps serving when the new config is then
    // refused or fails to start (only the running graph's backend stops HAProxy), and what
    // it applies until it stops is what this one starts from.
    this.#process = proc;
    this.#state = previous.#state;
    this.#state.layoutRead = true;
    return undefined;
  }

  #inc(m: HaproxyMetric): void {
    inc(this.#deps.metrics, m);
  }

  /** What writing and reloading the live file work with. */
  get #file(): LiveFileDeps {
    return {
      configurationFile: this.options.configurationFile,
      pidPath: this.options.pidPath,
      master: this.#master,
      api: this.#api,
      metrics: this.#deps.metrics,
      timeoutMs: this.#deps.reloadTimeoutMs ?? 5000,
      // aurproxy's own child is reloaded through its master CLI only: while it restarts,
      // the pid file may name a master too young to survive SIGUSR2.
      signalFallback: this.#process === undefined,
    };
  }
}
