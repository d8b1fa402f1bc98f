/**
 * `RampingShareAdjuster` (`ramp`): eases a new endpoint into traffic.
 *
 * With `p` the ramp's progress (0 before and at the end of `ramp_delay`, 1 after
 * `ramp_delay + ramp_seconds`, linear in between) and `m` = `min_share`:
 *
 *     share = m + (1 - m) · p      curve "linear" (the original's only curve)
 *     share = m + (1 - m) · p²     curve "quadratic": a slower start for cold caches and JITs
 *
 * During `ramp_delay` the share is therefore `m`: 0 by default, exactly as the original
 * (no traffic while waiting); a configured `min_share` is a floor for the whole life of
 * the adjuster, the delay included. Time counts from the adjuster's creation, i.e. when
 * the endpoint appeared.
 *
 * While the share is still moving it asks for an update every `update_frequency`
 * seconds (and once exactly when the ramp ends), only when the share actually changed;
 * once ramped it keeps no timer. The waiting part holds a single timer to its end.
 *
 * A ramp starting at 0 would send nothing to a job that was fully redeployed at once: the
 * weight calculator's fail-open rule covers that case, and `min_share` avoids it.
 *
 * @module
 */

import type { TimerId } from "../clock.ts";
import type { RampConfig } from "../model/config.ts";
import type { AdjusterContext, ShareAdjuster } from "./adjuster.ts";
import type { ShareFactor } from "../model/share.ts";

/**
 * The share `elapsedS` seconds after the endpoint appeared. Pure.
 *
 * @example
 * ```ts
 * rampShare({ kind: "ramp", path: "", rampDelay: 10, rampSeconds: 60, updateFrequency: 10,
 *   curve: "linear", minShare: 0 }, 40); // 0.5
 * ```
 */
export function rampShare(cfg: RampConfig, elapsedS: number): number {
  const m = cfg.minShare;
  const p = rampProgress(cfg, elapsedS);
  const shaped = cfg.curve === "quadratic" ? p * p : p;
  return Math.min(1, m + (1 - m) * shaped);
}

function rampProgress(cfg: RampConfig, elapsedS: number): number {
  const into = elapsedS - cfg.rampDelay;
  if (into <= 0) return cfg.rampSeconds <= 0 && elapsedS >= cfg.rampDelay ? 1 : 0;
  if (cfg.rampSeconds <= 0) return 1;
  return Math.min(1, into / cfg.rampSeconds);
}

/**
 * Audit text: "waiting 5/10s", "ramping 12/60s (0.20)", "ramped".
 *
 * @example
 * ```ts
 * describeRamp({ kind: "ramp", path: "", rampDelay: 10, rampSeconds: 60, updateFrequency: 10,
 *   curve: "linear", minShare: 0 }, 22); // "ramping 12/60s (0.20)"
 * ```
 */
export function describeRamp(cfg: RampConfig, elapsedS: number): string {
  const share = rampShare(cfg, elapsedS);
  if (share >= 1) return "ramped";
  if (elapsedS < cfg.rampDelay) return `waiting ${Math.floor(elapsedS)}/${cfg.rampDelay}s`;
  return `ramping ${Math.floor(elapsedS - cfg.rampDelay)}/${cfg.rampSeconds}s (${
    share.toFixed(2)
  })`;
}

/**
 * Builds the adjuster for one endpoint; its clock starts now (creation time).
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 *
 * const a = rampAdjuster({ kind: "ramp", path: "", rampDelay: 10, rampSeconds: 60,
 *   updateFrequency: 10, curve: "linear", minShare: 0 }, {
 *   endpoint: { host: "10.0.0.1", port: 8080, ports: {} },
 *   clock: systemClock,
 *   signal: () => {},
 * });
 * a.start();
 * console.log(a.current()); // share 0 while waiting the 10 s delay
 * a.stop();
 * ```
 */
export function rampAdjuster(cfg: RampConfig, ctx: AdjusterContext): ShareAdjuster {
  const { clock } = ctx;
  const bornAt = clock.now();
  // Timer arithmetic in whole milliseconds, so a tick never lands a hair before an edge.
  const delayMs = Math.round(cfg.rampDelay * 1000);
  const endMs = delayMs + Math.round(cfg.rampSeconds * 1000);
  const freqMs = Math.max(1, Math.round(cfg.updateFrequency * 1000));
  let timer: TimerId | undefined;
  let stopped = false;
  let signalled = rampShare(cfg, 0);
  const elapsedMs = () => clock.now() - bornAt;
  const shareNow = () => rampShare(cfg, elapsedMs() / 1000);

  /** Milliseconds (since birth) of the next tick, or undefined once ramped. */
  const nextTickMs = (nowMs: number): number | undefined => {
    if (nowMs >= endMs || rampShare(cfg, nowMs / 1000) >= 1) return undefined;
    if (nowMs < delayMs) return delayMs; // nothing moves while waiting
    return Math.min(nowMs + freqMs, endMs);
  };

  const arm = () => {
    const now = elapsedMs();
    const at = nextTickMs(now);
    timer = at === undefined ? undefined : clock.setTimeout(tick, Math.ceil(at - now));
  };

  const tick = () => {
    timer = undefined;
    if (stopped) return;
    const share = shareNow();
    // Weights have a resolution of 1/1000: a smaller move (a tick a few ms past the end of
    // the delay) would cost a reload for nothing.
    if (Math.round(share * 1000) !== Math.round(signalled * 1000)) {
      signalled = share;
      ctx.signal();
    }
    arm();
  };

  return {
    start() {
      if (stopped || timer !== undefined) return;
      // Started late (after creation)? Catch up on what already changed first.
      if (shareNow() !== signalled) tick();
      else arm();
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    current(): ShareFactor {
      const e = elapsedMs() / 1000;
      const share = rampShare(cfg, e);
      const phase = share >= 1 ? "ramped" : e < cfg.rampDelay ? "waiting" : "ramping";
      return {
        name: "ramp",
        share,
        detail: describeRamp(cfg, e),
        state: { phase, progress: share >= 1 ? 1 : rampProgress(cfg, e), elapsedSeconds: e },
      };
    },
  };
}
