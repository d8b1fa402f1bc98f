/**
 * `run --registration-class=... --registration-arg=k=v ...` to a {@linkcode SelfRegistration}
 * (or none): the calls the wiring of `run` (`lib/cli/run.ts`) makes. Usage errors (an
 * unknown class, a job registerer, a bad argument) are thrown before anything starts;
 * `run --setup` only checks ({@linkcode checkSelfRegistrationFlags}) and registers nothing,
 * as in the original. `run` adds the result as a pipeline listener, a `deregister`-phase
 * shutdown step, a health probe and `GET /status/registration.json`.
 *
 * The AWS SDK is imported only when a class is given: from source, importing it costs
 * about 120 ms and 75 MB of resident memory (measured; docs/development.md).
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import { parseRegistrationArgs, type RegistrationArgs } from "./args.ts";
import type { RegistererDeps } from "./factory.ts";
import { registererKind } from "./kinds.ts";
import { SelfRegistration, type SelfRegistrationOptions } from "./self_registration.ts";

/** What self registration needs from the object graph. */
export interface SelfRegistrationDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** Instance metadata and AWS client bounds (tests point them at stand-ins). */
  readonly registerer?: Omit<RegistererDeps, "logger">;
  /** Retry and shutdown bounds; defaults as documented in `self_registration.ts`. */
  readonly options?: Pick<
    SelfRegistrationOptions,
    "backoff" | "attemptTimeoutMs" | "deregisterTimeoutMs"
  >;
}

/**
 * Checks `--registration-class` and `--registration-arg` (key files included) without
 * loading the AWS SDK or building anything: the checked arguments, or undefined without a
 * class. `run --setup` calls only this, so a bad flag fails the setup (exit 2) before
 * nginx starts, and nothing is registered.
 *
 * @example
 * ```ts
 * checkSelfRegistrationFlags("ElbSelfRegisterer", ["region=us-east-1", "elb_names=web"]);
 * ```
 */
export function checkSelfRegistrationFlags(
  registrationClass: string | undefined,
  registrationArgs: readonly string[],
): RegistrationArgs | undefined {
  if (registrationClass === undefined || registrationClass === "") {
    if (registrationArgs.length) {
      throw new UsageError("--registration-arg", "given without --registration-class");
    }
    return undefined;
  }
  return parseRegistrationArgs(registererKind(registrationClass, "self"), registrationArgs);
}

/**
 * The self registration `--registration-class` and `--registration-arg` ask for, or
 * undefined without a class. Throws UsageError(s) naming the flag or argument.
 *
 * @example
 * ```ts
 * import { systemClock as clock } from "../clock.ts";
 * import { memoryLogger } from "../log.ts";
 * import { MetricsRegistry } from "../metrics/registry.ts";
 *
 * const reg = await selfRegistrationFromFlags(
 *   "tellapart.aurproxy.register.elb.ElbSelfRegisterer",
 *   ["region=us-east-1", "elb_names=MyElb"],
 *   { clock, logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") },
 * );
 * reg?.status().state; // "waiting": nothing is registered before the first apply
 * ```
 */
export async function selfRegistrationFromFlags(
  registrationClass: string | undefined,
  registrationArgs: readonly string[],
  deps: SelfRegistrationDeps,
): Promise<SelfRegistration | undefined> {
  const args = checkSelfRegistrationFlags(registrationClass, registrationArgs);
  if (!args) return undefined;
  const logger = deps.logger.child("register");
  for (const w of args.warnings) logger.warn(w);
  const { createSelfRegisterer } = await import("./factory.ts");
  const registerer = createSelfRegisterer(args, { ...deps.registerer, logger });
  return new SelfRegistration({
    ...deps.options,
    registerer,
    clock: deps.clock,
    logger,
    metrics: deps.metrics,
  });
}
