/**
 * `synchronize` for one service, as the original's `ElbJobRegisterer` and
 * `Route53JobRegisterer`: the job's hosts become members (EC2 instance ids, or host names),
 * every target is read, {@linkcode planTarget} decides, and with `write` the changes are
 * made, one call per target and action.
 *
 * Nothing is decided unless every host was found and every target read: a partial view
 * could make a present member look like one to remove. Per target, removals run only
 * after its registrations succeeded, so a failing call never leaves a target with fewer
 * members than before.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import { formatOutcome } from "./report.ts";
import {
  type Decision,
  errorText,
  type Member,
  type Outcome,
  RegistrationError,
  type TargetService,
  type TargetState,
} from "./registerer.ts";
import { planTarget } from "./sync_plan.ts";

/** Turns the job's hosts into members; throws {@linkcode RegistrationError} if any is unknown. */
export type ResolveMembers = (hosts: readonly string[], signal?: AbortSignal) => Promise<Member[]>;

/** Options of one run. */
export interface SyncOptions {
  /** `--write`: make the changes; otherwise only decide. */
  readonly write: boolean;
  /** `--remove-last`: allow removing a target's last member. */
  readonly removeLast: boolean;
  readonly signal?: AbortSignal;
}

/** What a run decided and did. */
export interface SyncReport {
  readonly outcomes: readonly Outcome[];
  /** False when any decision failed or carried an error. */
  readonly ok: boolean;
}

/** A registerer of a whole job, for `synchronize`. */
export interface JobRegisterer {
  /** e.g. `elb web,api`. */
  readonly description: string;
  /** Throws {@linkcode RegistrationError} when nothing could be decided. */
  synchronize(hosts: readonly string[], opts: SyncOptions): Promise<SyncReport>;
  /** Releases the AWS clients' connections. */
  close(): void;
}

/**
 * @example
 * ```ts
 * import type { Logger } from "../log.ts";
 * import { ElbService, type ElbSender } from "./elb.ts";
 *
 * // Reads the ELB: declared here, not run.
 * async function dryRun(elb: ElbSender, resolve: ResolveMembers, logger: Logger) {
 *   const job = new ServiceJobRegisterer(new ElbService(elb, ["web"]), resolve, false, logger);
 *   return await job.synchronize(["ip-10-0-0-5.ec2.internal"], { write: false, removeLast: false });
 * }
 * ```
 */
export class ServiceJobRegisterer implements JobRegisterer {
  readonly description: string;
  readonly #service: TargetService;
  readonly #resolve: ResolveMembers;
  readonly #removeOthers: boolean;
  readonly #logger: Logger;
  readonly #close: () => void;

  /** `close` releases what the service's clients hold (called by {@linkcode close}). */
  constructor(
    service: TargetService,
    resolve: ResolveMembers,
    removeOtherInstances: boolean,
    logger: Logger,
    close = () => {},
  ) {
    this.#close = close;
    this.#service = service;
    this.#resolve = resolve;
    this.#removeOthers = removeOtherInstances;
    this.#logger = logger;
    this.description = `${service.service} ${service.targets.join(",")}`;
  }

  async synchronize(hosts: readonly string[], opts: SyncOptions): Promise<SyncReport> {
    const { signal } = opts;
    let desired: Member[];
    let states: TargetState[];
    try {
      desired = await this.#resolve(hosts, signal);
    } catch (err) {
      if (err instanceof RegistrationError) throw err;
      throw new RegistrationError(
        `looking up the ${hosts.length} host(s) of the source: ${errorText(err)}: nothing changed`,
      );
    }
    try {
      states = await this.#service.read(signal);
    } catch (err) {
      throw new RegistrationError(
        `reading ${this.description}: ${errorText(err)}: nothing changed`,
      );
    }
    const outcomes: Outcome[] = [];
    for (const state of states) {
      const decisions = planTarget(state, desired, {
        removeOtherInstances: this.#removeOthers,
        removeLast: opts.removeLast,
      });
      const done = opts.write
        ? await this.#apply(state, decisions, signal)
        : decisions.map((d): Outcome => ({
          ...d,
          write: false,
          ...(d.error !== undefined ? { result: "failed" } : {}),
        }));
      // The caller prints the report; the log keeps it for debugging only.
      for (const o of done) this.#logger.debug(formatOutcome(o));
      outcomes.push(...done);
    }
    return { outcomes, ok: outcomes.every((o) => o.result !== "failed") };
  }

  close(): void {
    this.#close();
  }

  async #apply(
    state: TargetState,
    decisions: readonly Decision[],
    signal?: AbortSignal,
  ): Promise<Outcome[]> {
    const results = new Map<Decision, Pick<Outcome, "result" | "error">>();
    const run = async (action: "REGISTER" | "REMOVE"): Promise<boolean> => {
      const group = decisions.filter((d) => d.action === action && d.error === undefined);
      if (!group.length) return true;
      const members = group.map((d) => d.member);
      try {
        if (action === "REGISTER") await this.#service.add(state, members, signal);
        else await this.#service.remove(state, members, signal);
        for (const d of group) results.set(d, { result: "ok" });
        return true;
      } catch (err) {
        for (const d of group) results.set(d, { result: "failed", error: errorText(err) });
        return false;
      }
    };
    if (!(await run("REGISTER"))) {
      for (const d of decisions.filter((d) => d.action === "REMOVE")) {
        results.set(d, {
          result: "skipped",
          error: "not removed: registering on this target failed",
        });
      }
    } else await run("REMOVE");
    return decisions.map((d) => ({
      ...d,
      write: true,
      ...(results.get(d) ?? (d.error !== undefined ? { result: "failed" } : { result: "ok" })),
    }));
  }
}
