/**
 * What the reconciler hands its consumers. One stage applies each snapshot (the
 * {@linkcode SnapshotApplier}, whose result decides whether the update is retried); any
 * number of {@linkcode PipelineListener}s hear that a snapshot was built and how its apply
 * ended: endpoint gauges, the change log, and later registration, metric publishers and the
 * status page's event list. Listeners are registered by the wiring and know nothing of
 * each other.
 *
 * @module
 */

import type { ApplyResult } from "../backends/backend.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";

/**
 * A consumer of the pipeline's events. Both methods are optional and synchronous: a
 * listener with slow work to do (a network call) starts it and returns, so one listener
 * can never hold up the proxy update or the other listeners. A listener that throws is
 * logged; the others are still called.
 *
 * Snapshots are immutable and share unchanged upstream (and server) objects with the
 * previous snapshot, so `next.servers[i].routes[j] === previous.servers[i].routes[j]`
 * means "that upstream did not change": compare by identity before looking inside.
 *
 * @example
 * ```ts
 * // Registered with `reconciler.addListener(logApplies)` (or ProxyApp's).
 * const logApplies: PipelineListener = {
 *   onApplied: (result, snapshot) => console.log(result.kind, snapshot.builtAt),
 * };
 * ```
 */
export interface PipelineListener {
  /**
   * A snapshot was built and is about to be applied. `previous` is the snapshot built by
   * the update before (undefined for the first), whether or not it went live.
   */
  onSnapshot?(snapshot: ProxySnapshot, previous: ProxySnapshot | undefined): void;
  /** The apply of `snapshot` ended with `result`. Called once per snapshot built. */
  onApplied?(result: ApplyResult, snapshot: ProxySnapshot): void;
}

/**
 * The one stage that brings the proxy to a snapshot (see `backend_applier.ts`). It never
 * throws: every outcome is an {@linkcode ApplyResult}.
 *
 * @example
 * ```ts
 * import type { ProxyBackend } from "../backends/backend.ts";
 *
 * const applierFor = (backend: ProxyBackend): SnapshotApplier => ({
 *   apply: (snap) => backend.apply(snap, { reload: true }),
 * });
 * ```
 */
export interface SnapshotApplier {
  apply(snapshot: ProxySnapshot): Promise<ApplyResult>;
  /**
   * Optional: true when the proxy drifted from the last snapshot applied with no change
   * of the desired state (its config deleted by hand): the next period tick updates.
   */
  needsUpdate?(): boolean;
}
