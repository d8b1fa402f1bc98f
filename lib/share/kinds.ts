/**
 * The share-adjuster kinds this build knows, and the factory that turns a parsed
 * adjuster config into an {@linkcode AdjusterFactory} by its kind.
 *
 * @module
 */

import type { AdjusterConfig } from "../model/config.ts";
import type { AdjusterFactory } from "./adjuster.ts";
import { delayStartKind } from "./delay_kind.ts";
import { healthCheckKind } from "./health/kind.ts";
import type { AdjusterDeps, AdjusterKind } from "./kind.ts";
import { rampKind } from "./ramp_kind.ts";

/** Every share-adjuster kind, in the order "known classes" lists show them. */
export const ADJUSTER_KINDS: readonly AdjusterKind[] = Object.freeze([
  healthCheckKind,
  rampKind,
  delayStartKind,
]);

/**
 * The factory of per-endpoint adjusters for `config`, by its kind in `kinds`.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { CheckScheduler } from "./health/scheduler.ts";
 * const scheduler = new CheckScheduler({ clock: systemClock });
 * const config = { kind: "delay_start", path: "", seconds: 30 } as const;
 * const make = adjusterFactory(config, { clock: systemClock, scheduler, logger: memoryLogger() });
 * const endpoint = { host: "10.0.0.1", port: 80, ports: { default: 80 } };
 * const adjuster = make({ endpoint, clock: systemClock, signal: () => {} });
 * adjuster.start();
 * adjuster.current().share; // 0 for the first 30 s
 * adjuster.stop();
 * ```
 */
export function adjusterFactory(
  config: AdjusterConfig,
  deps: AdjusterDeps,
  kinds: readonly AdjusterKind[] = ADJUSTER_KINDS,
): AdjusterFactory {
  const kind = kinds.find((k) => k.kind === config.kind);
  if (!kind) throw new RangeError(`${config.path}: no share adjuster kind "${config.kind}"`);
  return kind.create(config, deps);
}
