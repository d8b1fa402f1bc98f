/**
 * `RampingShareAdjuster` (`ramp`): eases a new endpoint into traffic.
 *
 * @module
 */

import { describe } from "../config/walker.ts";
import type { RampConfig, RampCurve } from "../model/config.ts";
import { defineAdjusterKind } from "./kind.ts";
import { rampAdjuster } from "./ramp.ts";

const ADJ = "tellapart.aurproxy.share.adjusters";
const isCurve = (v: unknown): v is RampCurve => v === "linear" || v === "quadratic";

/**
 * The original's constructor defaults (`RampingShareAdjuster.__init__`; `ramp_delay` and
 * `ramp_seconds` had none and stay required), plus `min_share`, which is new.
 */
export const RAMP_DEFAULTS = Object.freeze(
  {
    curve: "linear",
    /** Seconds. */
    updateFrequency: 10,
    minShare: 0,
  } as const,
);

/** The ramping adjuster kind. */
export const rampKind = defineAdjusterKind<RampConfig>({
  kind: "ramp",
  canonical: `${ADJ}.RampingShareAdjuster`,
  aliases: ["ramp", `${ADJ}.ramp.RampingShareAdjuster`],
  parse: (f, common) => {
    const d = RAMP_DEFAULTS;
    const curve = f.raw("curve") ?? d.curve;
    if (!isCurve(curve)) {
      f.fail("curve", `expected "linear" or "quadratic", got ${describe(curve)}`);
    }
    return {
      ...common,
      kind: "ramp",
      rampDelay: f.number("ramp_delay", { required: true, min: 0 }),
      rampSeconds: f.number("ramp_seconds", { required: true, min: 0 }),
      updateFrequency: f.number("update_frequency", { def: d.updateFrequency, above: 0 }),
      curve: isCurve(curve) ? curve : d.curve,
      minShare: f.number("min_share", { def: d.minShare, min: 0, max: 1 }),
    };
  },
  create: (c) => (ctx) => rampAdjuster(c, ctx),
});
