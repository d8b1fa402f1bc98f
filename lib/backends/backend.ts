/**
 * The proxy backend interface. nginx implements it now; HAProxy could later (applying
 * weight-only changes through its runtime API instead of a reload).
 *
 * @module
 */

import type { ProxySnapshot } from "../model/snapshot.ts";

/** Outcome of one apply. Never thrown: the updater counts and logs each kind. */
export type ApplyResult =
  /**
   * The rendered config means the same as the live one (comments aside): nothing written,
   * nothing reloaded.
   */
  | { readonly kind: "unchanged" }
  /** Written and (unless `reload: false`) reloaded, and the reload was confirmed. */
  | { readonly kind: "applied"; readonly reloaded: boolean; readonly durationMs: number }
  /** The proxy's own validation (`nginx -t`) rejected the config; the live file is untouched. */
  | { readonly kind: "invalid"; readonly error: string }
  /** Written, but the reload failed or could not be confirmed. The previous config keeps serving. */
  | { readonly kind: "reload_failed"; readonly error: string }
  /** Writing or signalling failed (a full disk, no permission); nginx serves what it had. */
  | { readonly kind: "error"; readonly error: string };

export interface ProxyBackend {
  readonly name: string;
  /** Pure: the config text for a snapshot. */
  render(snapshot: ProxySnapshot): string;
  /**
   * Renders, validates, swaps atomically and, when `reload` is true, reloads the running
   * proxy. `reload: false` is `--setup`: write a validated config for a proxy not started yet.
   */
  apply(snapshot: ProxySnapshot, opts: { reload: boolean }): Promise<ApplyResult>;
}
