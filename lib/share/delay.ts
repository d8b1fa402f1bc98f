/**
 * `DelayStartShareAdjuster` (`delay_start`): no traffic for `seconds` after the endpoint
 * appeared (the adjuster's creation on its clock), then its full share. Exactly one
 * update is requested, when the delay ends; after that no timer is kept.
 *
 * @module
 */

import type { TimerId } from "../clock.ts";
import type { DelayStartConfig } from "../model/config.ts";
import type { AdjusterContext, ShareAdjuster } from "./adjuster.ts";
import type { ShareFactor } from "../model/share.ts";

/**
 * Builds the adjuster for one endpoint; the delay counts from now (creation time).
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 *
 * const a = delayStartAdjuster({ kind: "delay_start", path: "", seconds: 30 }, {
 *   endpoint: { host: "10.0.0.1", port: 8080, ports: {} },
 *   clock: systemClock,
 *   signal: () => {},
 * });
 * a.start();
 * console.log(a.current()); // share 0 until 30 s have passed
 * a.stop();
 * ```
 */
export function delayStartAdjuster(cfg: DelayStartConfig, ctx: AdjusterContext): ShareAdjuster {
  const { clock } = ctx;
  const bornAt = clock.now();
  const until = bornAt + Math.round(cfg.seconds * 1000);
  let timer: TimerId | undefined;
  let stopped = false;
  // Whether the share the updater last heard of is 0: it starts so unless seconds is 0.
  let waiting = until > bornAt;

  const flip = () => {
    timer = undefined;
    if (stopped || !waiting) return;
    waiting = false;
    ctx.signal();
  };

  return {
    start() {
      if (stopped || timer !== undefined || !waiting) return;
      const left = until - clock.now();
      if (left <= 0) flip(); // started after the delay had already passed
      else timer = clock.setTimeout(flip, left);
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    current(): ShareFactor {
      const now = clock.now();
      if (now >= until) {
        return { name: "delay", share: 1, detail: "started", state: { waiting: false } };
      }
      return {
        name: "delay",
        share: 0,
        detail: `waiting ${Math.floor((now - bornAt) / 1000)}/${cfg.seconds}s`,
        state: { waiting: true, remainingSeconds: (until - now) / 1000 },
      };
    },
  };
}
