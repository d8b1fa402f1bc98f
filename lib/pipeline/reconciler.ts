/**
 * The reconciler: turns "the topology changed" into proxy updates. The updater coalesces
 * and throttles changes; each update resolves new host names, builds one immutable
 * snapshot from the topology's members, tells every listener, has the applier bring the
 * proxy to it, and tells every listener how that ended. It also ends the weight
 * adjustment delay (`--weight-adjustment-delay-seconds`), which changes weights without
 * any source event.
 *
 * @module
 */

import type { ApplyResult } from "../backends/backend.ts";
import type { Clock, TimerId } from "../clock.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import type { Logger } from "../log.ts";
import type { ProxyConfig } from "../model/config.ts";
import type { HealthCheckResult, HealthProbe } from "../model/health.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import type { HostResolver } from "./host_resolver.ts";
import type { PipelineListener, SnapshotApplier } from "./listener.ts";
import { buildSnapshot } from "./snapshot_builder.ts";
import type { MemberView } from "./topology.ts";
import { type UpdateOutcome, Updater } from "./updater.ts";

/** The update timing flags. */
export interface ReconcilerTiming {
  /** `--update-period`, seconds. */
  readonly updatePeriodSeconds: number;
  /** `--max-update-frequency`: minimum seconds between proxy updates. */
  readonly minIntervalSeconds: number;
  /** `--weight-adjustment-delay-seconds`. */
  readonly weightAdjustmentDelaySeconds: number;
}

export interface ReconcilerDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: ProxyConfig;
  /** The pools' current members (the topology). */
  readonly members: MemberView;
  /** Brings the proxy to each snapshot. */
  readonly applier: SnapshotApplier;
  /**
   * Resolves registry host names to the addresses rendered (see `host_resolver.ts`).
   * Without one, hosts are rendered as they are.
   */
  readonly resolver?: HostResolver;
  /** Endpoints to leave out whatever their source says (see `BuildOptions.leaveOut`). */
  readonly leaveOut?: (address: string, port: number) => string | undefined;
  /** Listeners registered from the start (more with {@linkcode Reconciler.addListener}). */
  readonly listeners?: readonly PipelineListener[];
}

/** What an apply result means for the updater. */
function outcomeOf(result: ApplyResult): UpdateOutcome {
  // A rejected config only changes with a new change: wait for one. A failed reload or
  // write may pass on its own (nginx restarted, disk freed): retry on the next tick.
  return result.kind === "reload_failed" || result.kind === "error" ? "retry" : "done";
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import type { ProxyConfig } from "../model/config.ts";
 * import type { SnapshotApplier } from "./listener.ts";
 * import type { Topology } from "./topology.ts";
 *
 * function wire(config: ProxyConfig, topology: Topology, applier: SnapshotApplier) {
 *   const reconciler = new Reconciler(
 *     { clock: systemClock, logger: memoryLogger(), config, members: topology, applier },
 *     { updatePeriodSeconds: 2, minIntervalSeconds: 10, weightAdjustmentDelaySeconds: 180 },
 *   );
 *   reconciler.addListener({ onApplied: (result) => console.log(result.kind) });
 *   topology.onChange(() => reconciler.markDirty());
 *   reconciler.start();
 *   return reconciler;
 * }
 * ```
 */
export class Reconciler {
  readonly #deps: ReconcilerDeps;
  readonly #timing: ReconcilerTiming;
  readonly #updater: Updater;
  readonly #listeners: PipelineListener[];
  #startedAt = 0;
  #delayTimer?: TimerId;
  #snapshot?: ProxySnapshot;

  constructor(deps: ReconcilerDeps, timing: ReconcilerTiming) {
    this.#deps = deps;
    this.#timing = timing;
    this.#listeners = [...(deps.listeners ?? [])];
    this.#updater = new Updater({
      clock: deps.clock,
      logger: deps.logger.child("updater"),
      updatePeriodSeconds: timing.updatePeriodSeconds,
      minIntervalSeconds: timing.minIntervalSeconds,
      update: () => this.#update(),
      due: () => deps.applier.needsUpdate?.() ?? false,
    });
  }

  /** The updater (for tests and benchmarks that count updates). */
  get updater(): Updater {
    return this.#updater;
  }

  /** The last snapshot built, or undefined before the first update. */
  snapshot(): ProxySnapshot | undefined {
    return this.#snapshot;
  }

  /** Adds a listener for every later update; returns a function that removes it. */
  addListener(listener: PipelineListener): Unsubscribe {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** Records that the desired proxy state may have changed. */
  markDirty(): void {
    this.#updater.markDirty();
  }

  /** Starts updating: a first update at once, then one per change (throttled). */
  start(): void {
    const { clock, logger, resolver } = this.#deps;
    this.#startedAt = clock.now();
    resolver?.start(() => this.markDirty());
    const delayMs = this.#timing.weightAdjustmentDelaySeconds * 1000;
    if (delayMs > 0) {
      this.#delayTimer = clock.setTimeout(() => {
        this.#delayTimer = undefined;
        logger.info("weight adjustment delay over: adjusters now apply");
        this.markDirty();
      }, delayMs);
    }
    this.#updater.start();
    this.markDirty();
  }

  /** Stops updating and waits for an update in flight. */
  async stop(): Promise<void> {
    if (this.#delayTimer !== undefined) this.#deps.clock.clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    this.#deps.resolver?.stop();
    await this.#updater.stop();
  }

  /**
   * Builds a snapshot of the desired state now (no listener hears of it), reusing the
   * upstreams that did not change since the last one built.
   */
  buildSnapshot(): ProxySnapshot {
    const delayMs = this.#timing.weightAdjustmentDelaySeconds * 1000;
    return this.#build(this.#deps.clock.now() >= this.#startedAt + delayMs, this.#snapshot);
  }

  /**
   * Resolves the members' host names and builds one snapshot with no weight adjustment
   * (adjusters have had no time to judge anything). For `--setup` and `render`.
   */
  async snapshotOnce(): Promise<ProxySnapshot> {
    await this.#resolveHosts();
    return this.#build(false);
  }

  /**
   * Health contribution: degraded while endpoints are left out for want of an address, or
   * for pointing at aurproxy's own management port.
   */
  healthProbe(): HealthProbe {
    return (): HealthCheckResult => {
      const skipped =
        this.#snapshot?.servers.flatMap((s) =>
          [...s.routes, ...s.streams].flatMap((u) => u.skipped)
        ) ?? [];
      if (!skipped.length) return { level: "ok", lines: [] };
      const list = (names: string[]) =>
        [...new Set(names)].slice(0, 5).join(", ") + (new Set(names).size > 5 ? ", ..." : "");
      const own = skipped.filter((e) => e.cause === "management_port");
      const unresolved = skipped.filter((e) => e.cause !== "management_port");
      const lines: string[] = [];
      if (unresolved.length) {
        lines.push(
          `${unresolved.length} endpoint(s) left out, host name(s) not resolving: ` +
            list(unresolved.map((e) => e.host)),
        );
      }
      if (own.length) {
        lines.push(
          `${own.length} endpoint(s) left out, pointing at aurproxy's own management port: ` +
            list(own.map((e) => `${e.host}:${e.port}`)),
        );
      }
      return { level: "degraded", lines };
    };
  }

  #build(adjust: boolean, previous?: ProxySnapshot): ProxySnapshot {
    const { resolver, clock, config, members } = this.#deps;
    return buildSnapshot(config, (p) => members.membersOf(p), {
      adjust,
      now: clock.now(),
      addressOf: resolver && ((host) => resolver.addressOf(host)),
      leaveOut: this.#deps.leaveOut,
      previous,
    });
  }

  /** Looks up host names not seen before, so the snapshot can render their addresses. */
  async #resolveHosts(): Promise<void> {
    const { resolver, members } = this.#deps;
    if (resolver) await resolver.resolve(members.hosts());
  }

  async #update(): Promise<UpdateOutcome> {
    await this.#resolveHosts();
    const previous = this.#snapshot;
    const snap = this.buildSnapshot();
    this.#snapshot = snap;
    this.#notify("onSnapshot", (l) => l.onSnapshot?.(snap, previous));
    const result = await this.#deps.applier.apply(snap);
    this.#notify("onApplied", (l) => l.onApplied?.(result, snap));
    return outcomeOf(result);
  }

  #notify(event: string, call: (l: PipelineListener) => void): void {
    for (const l of [...this.#listeners]) {
      try {
        call(l);
      } catch (err) {
        this.#deps.logger.error(`a pipeline listener failed in ${event}`, err);
      }
    }
  }
}
