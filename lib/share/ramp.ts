/**
 * `RampingShareAdjuster`: a new endpoint's share rises from `min_share` to 1 over
 * `ramp_seconds`, after waiting `ramp_delay` seconds at `min_share`, along a linear
 * curve (as the original) or a quadratic one (a slower start, kinder to cold caches and
 * JITs). While ramping it asks for an update every `update_frequency` seconds, then
 * stops and leaves no timer behind.
 *
 * A ramp starting at 0 sends nothing to a job that was fully redeployed: the weight
 * calculator's fail-open rule covers that case, and `min_share` avoids it.
 *
 * @module
 */

import type { RampConfig } from "../config/types.ts";
import type { AdjusterContext, ShareAdjuster, ShareFactor } from "./adjuster.ts";
import type { TimerId } from "../clock.ts";

/** The share `elapsedS` seconds after the endpoint appeared. Pure. */
export function rampShare(cfg: RampConfig, elapsedS: number): number {
  const m = cfg.minShare;
  if (elapsedS < cfg.rampDelay) return m;
  const p = cfg.rampSeconds <= 0 ? 1 : Math.min(1, (elapsedS - cfg.rampDelay) / cfg.rampSeconds);
  const shaped = cfg.curve === "quadratic" ? p * p : p;
  return m + (1 - m) * shaped;
}

function describe(cfg: RampConfig, elapsedS: number, share: number): string {
  if (elapsedS < cfg.rampDelay) return `waiting ${Math.floor(elapsedS)}/${cfg.rampDelay}s`;
  if (share >= 1) return "ramped";
  return `ramping ${Math.floor(elapsedS - cfg.rampDelay)}/${cfg.rampSeconds}s ${cfg.curve}`;
}

export function rampAdjuster(cfg: RampConfig, ctx: AdjusterContext): ShareAdjuster {
  const { clock } = ctx;
  const start = clock.now();
  let timer: TimerId | undefined;
  let signalled = rampShare(cfg, 0);
  const elapsed = () => (clock.now() - start) / 1000;

  const tick = () => {
    timer = undefined;
    const share = rampShare(cfg, elapsed());
    if (share !== signalled) {
      signalled = share;
      ctx.signal();
    }
    if (share < 1) timer = clock.setTimeout(tick, cfg.updateFrequency * 1000);
  };

  return {
    start() {
      if (signalled < 1) timer = clock.setTimeout(tick, cfg.updateFrequency * 1000);
    },
    stop() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    current(): ShareFactor {
      const e = elapsed();
      const share = rampShare(cfg, e);
      return { name: "ramp", share, detail: describe(cfg, e, share) };
    },
  };
}
