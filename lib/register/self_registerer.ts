/**
 * Registration of this aurproxy in every target of a service, as the original's
 * `ElbSelfRegisterer` and `Route53SelfRegisterer`: register only where absent, deregister
 * only where present, one decision per target. Who "this aurproxy" is comes from instance
 * metadata (instance id, or public host name), read once.
 *
 * Every target is tried even when one fails; the failures are thrown together as a
 * {@linkcode RegistrationError} carrying every outcome, so a retry redoes only what is
 * still missing.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { formatOutcome } from "./report.ts";
import {
  errorText,
  type Member,
  type Outcome,
  RegistrationError,
  type SelfRegisterer,
  type TargetService,
  type TargetState,
} from "./registerer.ts";

/** Finds this instance's member (instance id, public host name). */
export type Identify = (signal?: AbortSignal) => Promise<Member>;

/**
 * @example
 * ```ts
 * import type { Logger } from "../log.ts";
 * import { ElbService, type ElbSender, instanceMember } from "./elb.ts";
 *
 * // Calls AWS: declared here, not run.
 * async function register(client: ElbSender, logger: Logger) {
 *   const identify = () => Promise.resolve(instanceMember("i-0abc")); // from instance metadata
 *   const self = new ServiceSelfRegisterer(new ElbService(client, ["web"]), identify, logger);
 *   return await self.register(); // [{ target: "web", action: "REGISTER", ... }]
 * }
 * ```
 */
export class ServiceSelfRegisterer implements SelfRegisterer {
  readonly description: string;
  readonly #service: TargetService;
  readonly #identify: Identify;
  readonly #logger: Logger;
  readonly #close: () => void;
  #me?: Member;

  /** `close` releases what the service's clients hold (called by {@linkcode close}). */
  constructor(service: TargetService, identify: Identify, logger: Logger, close = () => {}) {
    this.#service = service;
    this.#identify = identify;
    this.#logger = logger;
    this.#close = close;
    this.description = `${service.service} ${service.targets.join(",")}`;
  }

  async #self(signal?: AbortSignal): Promise<Member> {
    this.#me ??= await this.#identify(signal);
    return this.#me;
  }

  register(signal?: AbortSignal): Promise<readonly Outcome[]> {
    return this.#each("register", signal, async (state, me) => {
      if (state.members.some((m) => m.key === me.key)) {
        return { action: "NONE", reasons: ["ALREADY_REGISTERED"] };
      }
      await this.#service.add(state, [me], signal);
      return { action: "REGISTER", reasons: ["NOT_YET_REGISTERED"] };
    });
  }

  deregister(signal?: AbortSignal): Promise<readonly Outcome[]> {
    return this.#each("deregister", signal, async (state, me) => {
      const present = state.members.filter((m) => m.key === me.key);
      if (!present.length) return { action: "NONE", reasons: ["NOT_ALREADY_REGISTERED"] };
      await this.#service.remove(state, present, signal);
      return { action: "REMOVE", reasons: [] };
    });
  }

  async status(signal?: AbortSignal): Promise<{ target: string; registered: boolean }[]> {
    const me = await this.#self(signal);
    const states = await this.#service.read(signal);
    return states.map((s) => ({
      target: s.target,
      registered: s.members.some((m) => m.key === me.key),
    }));
  }

  close(): void {
    this.#close();
  }

  async #each(
    op: string,
    signal: AbortSignal | undefined,
    step: (state: TargetState, me: Member) => Promise<Pick<Outcome, "action" | "reasons">>,
  ): Promise<readonly Outcome[]> {
    let me: Member;
    let states: TargetState[];
    try {
      me = await this.#self(signal);
      states = await this.#service.read(signal);
    } catch (err) {
      throw new RegistrationError(`${op} with ${this.description}: ${errorText(err)}`);
    }
    const outcomes: Outcome[] = [];
    const failures: string[] = [];
    for (const state of states) {
      const base = { target: state.target, member: me, write: true };
      const conflict = state.conflicts.get(me.key);
      let o: Outcome;
      if (conflict !== undefined) {
        o = {
          ...base,
          action: "NONE",
          reasons: ["NO_REASON"],
          error: conflict,
          result: "failed",
        };
      } else {
        try {
          o = { ...base, ...(await step(state, me)), result: "ok" };
        } catch (err) {
          o = {
            ...base,
            action: op === "register" ? "REGISTER" : "REMOVE",
            reasons: op === "register" ? ["NOT_YET_REGISTERED"] : [],
            error: errorText(err),
            result: "failed",
          };
        }
      }
      outcomes.push(o);
      if (o.result === "failed") {
        failures.push(`${state.target}: ${o.error}`);
        this.#logger.error(formatOutcome(o));
      } else this.#logger.info(formatOutcome(o));
    }
    if (failures.length) {
      throw new RegistrationError(
        `${op} with ${this.#service.service} failed: ${failures.join("; ")}`,
        outcomes,
      );
    }
    return outcomes;
  }
}
