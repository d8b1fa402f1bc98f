/**
 * `DelayStartShareAdjuster` (`delay_start`): a new endpoint gets no traffic for `seconds`.
 *
 * @module
 */

import type { DelayStartConfig } from "../model/config.ts";
import { delayStartAdjuster } from "./delay.ts";
import { defineAdjusterKind } from "./kind.ts";

const ADJ = "tellapart.aurproxy.share.adjusters";

/** The delayed-start adjuster kind. */
export const delayStartKind = defineAdjusterKind<DelayStartConfig>({
  kind: "delay_start",
  canonical: `${ADJ}.DelayStartShareAdjuster`,
  aliases: ["delay_start", `${ADJ}.delay.DelayStartShareAdjuster`],
  parse: (f, common) => ({
    ...common,
    kind: "delay_start",
    seconds: f.number("seconds", { required: true, min: 0 }),
  }),
  create: (c) => (ctx) => delayStartAdjuster(c, ctx),
});
