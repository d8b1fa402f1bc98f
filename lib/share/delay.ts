/**
 * `DelayStartShareAdjuster`: no traffic for `seconds` after the endpoint appeared, then
 * its full share; one update is requested when the delay ends.
 *
 * @module
 */

import type { DelayStartConfig } from "../config/types.ts";
import type { TimerId } from "../clock.ts";
import type { AdjusterContext, ShareAdjuster, ShareFactor } from "./adjuster.ts";

export function delayStartAdjuster(cfg: DelayStartConfig, ctx: AdjusterContext): ShareAdjuster {
  const { clock } = ctx;
  const until = clock.now() + cfg.seconds * 1000;
  let timer: TimerId | undefined;
  return {
    start() {
      if (cfg.seconds > 0) {
        timer = clock.setTimeout(() => {
          timer = undefined;
          ctx.signal();
        }, cfg.seconds * 1000);
      }
    },
    stop() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    current(): ShareFactor {
      const left = until - clock.now();
      return left > 0
        ? { name: "delay", share: 0, detail: `starting in ${Math.ceil(left / 1000)}s` }
        : { name: "delay", share: 1, detail: "started" };
    },
  };
}
