/**
 * Registration as data: what a registerer decided for each target and member, why, and
 * what came of it. Self registration (this aurproxy into its ELBs, target groups or DNS
 * name) and `synchronize` (a whole job) produce the same decisions, so logs, the command's
 * output and tests read one shape.
 *
 * The actions and reasons are the original aurproxy's `RegistrationAction` and
 * `RegistrationActionReason` (upper-cased constant names), plus `LAST_REGISTERED` for the
 * last-member guard that the original did not have.
 *
 * @module
 */

/** What to do with one member of one target. */
export type RegistrationAction = "REGISTER" | "REMOVE" | "NONE";

/** Why: every reason of the original, plus `LAST_REGISTERED`. */
export const REGISTRATION_REASONS = [
  "ALREADY_REGISTERED",
  "NO_CORRESPONDING_TASK",
  "NO_REASON",
  "NOT_ALREADY_REGISTERED",
  "NOT_YET_REGISTERED",
  "REMOVE_OTHER_INSTANCE_FALSE",
  /** Kept: removing it would leave the target with nothing registered. */
  "LAST_REGISTERED",
] as const;

/** One of {@linkcode REGISTRATION_REASONS}. */
export type RegistrationReason = typeof REGISTRATION_REASONS[number];

/**
 * One member of a target: an EC2 instance in a classic ELB, an instance (and port) in a
 * target group, or a host name in a weighted DNS record set.
 */
export interface Member {
  /** What the member is compared by: instance id, `id:port`, or lower-cased host name. */
  readonly key: string;
  /** EC2 instance id (ELB, ELBv2). */
  readonly instance?: string;
  /** Target port (ELBv2), when one is configured or registered. */
  readonly port?: number;
  /** Host name: the source's host the instance was found for, or the DNS record's host. */
  readonly host?: string;
}

/** One decision about one member of one target. */
export interface Decision {
  /** The ELB name, target group ARN or DNS name. */
  readonly target: string;
  readonly member: Member;
  readonly action: RegistrationAction;
  readonly reasons: readonly RegistrationReason[];
  /** Extra context (a TTL that differs, the records that conflict). */
  readonly message?: string;
  /**
   * Set when the decision cannot be carried out at all (several DNS records for one host):
   * nothing is changed for the member, and the run counts as failed.
   */
  readonly error?: string;
}

/** Result of carrying out a decision. */
export type OutcomeResult =
  /** The change was made (or there was nothing to change). */
  | "ok"
  /** The AWS call failed; `error` says how. */
  | "failed"
  /** Not attempted, on purpose (a registration on the same target failed first). */
  | "skipped";

/** A decision and, when written, what came of it. */
export interface Outcome extends Decision {
  /** Whether changes were to be made (`--write`); false for a dry run. */
  readonly write: boolean;
  /** Set when `write`, or when the decision carried an error. */
  readonly result?: OutcomeResult;
}

/** The current members of one target, as read from AWS. */
export interface TargetState {
  readonly target: string;
  readonly members: readonly Member[];
  /**
   * Member keys that must not be changed automatically, with the reason (several DNS
   * records for one host): they are reported with an error and left alone.
   */
  readonly conflicts: ReadonlyMap<string, string>;
}

/**
 * One AWS service as registration sees it: a list of targets whose members can be read,
 * added and removed. ELB, ELBv2 and Route 53 implement it; everything above it (self
 * registration, `synchronize`) is shared.
 */
export interface TargetService {
  /** `elb`, `elbv2` or `route53`, for logs and metrics. */
  readonly service: string;
  /** The configured targets: ELB names, target group ARNs, or the one DNS name. */
  readonly targets: readonly string[];
  /** Reads every target; throws on any AWS error (nothing is decided on a partial read). */
  read(signal?: AbortSignal): Promise<TargetState[]>;
  /** Adds members to a target. `state` is what {@linkcode read} returned for it. */
  add(state: TargetState, members: readonly Member[], signal?: AbortSignal): Promise<void>;
  /** Removes members (as read, in `state`) from a target. */
  remove(state: TargetState, members: readonly Member[], signal?: AbortSignal): Promise<void>;
}

/** Registration of this aurproxy itself: run after the first apply and at shutdown. */
export interface SelfRegisterer {
  /** e.g. `elb MyElb,OtherElb`, for logs and `/health`. */
  readonly description: string;
  /** Adds this instance to every target where it is absent. Throws {@linkcode RegistrationError}. */
  register(signal?: AbortSignal): Promise<readonly Outcome[]>;
  /** Removes this instance from every target where it is present. Throws {@linkcode RegistrationError}. */
  deregister(signal?: AbortSignal): Promise<readonly Outcome[]>;
  /** Whether this instance is registered in each target now (reads AWS). */
  status(signal?: AbortSignal): Promise<readonly { target: string; registered: boolean }[]>;
  /** Releases the AWS clients' connections. */
  close(): void;
}

/** A registration or deregistration that failed for at least one target. */
export class RegistrationError extends Error {
  override name = "RegistrationError";
  /** What was decided and done before and despite the failure. */
  readonly outcomes: readonly Outcome[];

  constructor(message: string, outcomes: readonly Outcome[] = []) {
    super(message);
    this.outcomes = outcomes;
  }
}

/**
 * Text of an error for logs and output, on one line: the AWS error code and the first
 * line of its message, the HTTP status when AWS gave no code, a registration error's own
 * message.
 *
 * @example
 * ```ts
 * // As the SDK throws it: the AWS error code is the error's name.
 * const throttlingException = Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
 * errorText(throttlingException); // "Throttling: Rate exceeded"
 * ```
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof RegistrationError) return err.message;
  const code = String((err as { Code?: unknown }).Code ?? err.name ?? "");
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const unknown = code === "Unknown" || code === "UnknownError";
  const head = unknown ? (status ? `HTTP ${status}` : "") : code === "Error" ? "" : code;
  // The SDK's own messages may go on with advice for its programmers (a deserialization
  // error tells how to inspect the raw response): the first line is the operator's.
  const msg = !unknown && err.message !== code ? err.message.split("\n")[0].trim() : "";
  return [head, msg].filter(Boolean).join(": ") || String(err).split("\n")[0];
}
