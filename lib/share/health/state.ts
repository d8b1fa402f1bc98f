/**
 * The health-check state machine, pure: check results in, status and share out.
 *
 * - A new endpoint is `initializing` (share 0) until `healthyThreshold` consecutive successes.
 * - `unhealthyThreshold` consecutive failures make it `unhealthy` (share 0), also straight
 *   from `initializing`: an instance that never came up is reported as down, not as booting.
 * - `healthyThreshold` consecutive successes make it `healthy` (share 1) again.
 * - An inconclusive result (the checker could not resolve the endpoint's name: our problem,
 *   not the endpoint's) neither counts nor breaks a streak, as in the original; it is only
 *   remembered so the audit text can say the checks are not getting through.
 *
 * @module
 */

export type HealthStatus = "initializing" | "healthy" | "unhealthy";

export type CheckResult =
  | { readonly kind: "success" }
  | { readonly kind: "failure"; readonly reason: string }
  | { readonly kind: "inconclusive"; readonly reason: string };

export interface HealthState {
  readonly status: HealthStatus;
  /** Consecutive successes (inconclusive results skipped). */
  readonly successes: number;
  /** Consecutive failures (inconclusive results skipped). */
  readonly failures: number;
  /** Reason of the latest failure, for the audit text. */
  readonly lastFailure?: string;
  /** Consecutive inconclusive results since the last conclusive one. */
  readonly inconclusive: number;
  /** Reason of the latest inconclusive result. */
  readonly lastInconclusive?: string;
}

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/** Where every endpoint starts. */
export const INITIAL_HEALTH: HealthState = {
  status: "initializing",
  successes: 0,
  failures: 0,
  inconclusive: 0,
};

/**
 * The state after one more check result.
 *
 * @example
 * ```ts
 * const t = { healthyThreshold: 1, unhealthyThreshold: 2 };
 * nextHealth(INITIAL_HEALTH, { kind: "success" }, t).status; // "healthy"
 * ```
 */
export function nextHealth(s: HealthState, r: CheckResult, t: Thresholds): HealthState {
  switch (r.kind) {
    case "inconclusive":
      return { ...s, inconclusive: s.inconclusive + 1, lastInconclusive: r.reason };
    case "success": {
      const successes = s.successes + 1;
      const status = successes >= t.healthyThreshold ? "healthy" : s.status;
      return { status, successes, failures: 0, lastFailure: s.lastFailure, inconclusive: 0 };
    }
    case "failure": {
      const failures = s.failures + 1;
      const status = failures >= t.unhealthyThreshold ? "unhealthy" : s.status;
      return { status, successes: 0, failures, lastFailure: r.reason, inconclusive: 0 };
    }
  }
}

/**
 * Folds a sequence of results from {@linkcode INITIAL_HEALTH} (or `from`).
 *
 * @example
 * ```ts
 * const ok = { kind: "success" } as const;
 * healthAfter([ok, ok], { healthyThreshold: 2, unhealthyThreshold: 2 }).status; // "healthy"
 * ```
 */
export function healthAfter(
  results: readonly CheckResult[],
  t: Thresholds,
  from: HealthState = INITIAL_HEALTH,
): HealthState {
  return results.reduce((s, r) => nextHealth(s, r, t), from);
}

/**
 * 1 when healthy, else 0.
 *
 * @example
 * ```ts
 * healthShare(INITIAL_HEALTH); // 0
 * ```
 */
export function healthShare(s: HealthState): number {
  return s.status === "healthy" ? 1 : 0;
}

/** The health status as data for `/status.json`; see {@linkcode healthData}. */
export type HealthData = {
  readonly status: HealthStatus;
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** Absent before the first check. */
  readonly lastResult?: CheckResult["kind"];
  /** Why the last check failed or was inconclusive. */
  readonly lastReason?: string;
};

/**
 * The state as plain data for `/status.json`: the status, the streaks against their
 * thresholds, and the last result with its reason. The streaks and `inconclusive` reset
 * each other, so the last result follows from them.
 *
 * @example
 * ```ts
 * const t = { healthyThreshold: 2, unhealthyThreshold: 3 };
 * healthData(nextHealth(INITIAL_HEALTH, { kind: "failure", reason: "status 500" }, t), t);
 * // { status: "initializing", consecutiveSuccesses: 0, consecutiveFailures: 1,
 * //   healthyThreshold: 2, unhealthyThreshold: 3, lastResult: "failure", lastReason: "status 500" }
 * ```
 */
export function healthData(s: HealthState, t: Thresholds): HealthData {
  const data = {
    status: s.status,
    consecutiveSuccesses: s.successes,
    consecutiveFailures: s.failures,
    healthyThreshold: t.healthyThreshold,
    unhealthyThreshold: t.unhealthyThreshold,
  };
  if (s.inconclusive) {
    return { ...data, lastResult: "inconclusive", lastReason: s.lastInconclusive ?? "" };
  }
  if (s.successes) return { ...data, lastResult: "success" };
  if (s.failures) return { ...data, lastResult: "failure", lastReason: s.lastFailure ?? "" };
  return data;
}

/**
 * Audit text for the nginx comment and the status page, e.g. "healthy",
 * "unhealthy (3 failures: status 500)", "initializing 1/2",
 * "unhealthy, recovering 1/2", "healthy; last check inconclusive: cannot resolve host".
 *
 * @example
 * ```ts
 * describeHealth(INITIAL_HEALTH, { healthyThreshold: 2, unhealthyThreshold: 3 }); // "initializing 0/2"
 * ```
 */
export function describeHealth(s: HealthState, t: Thresholds): string {
  return baseDescription(s, t) +
    (s.inconclusive ? `; last check inconclusive: ${s.lastInconclusive}` : "");
}

function baseDescription(s: HealthState, t: Thresholds): string {
  const failing = `${s.failures} ${s.failures === 1 ? "failure" : "failures"}: ${s.lastFailure}`;
  switch (s.status) {
    case "healthy":
      return s.failures ? `healthy (${failing})` : "healthy";
    case "unhealthy":
      return s.successes
        ? `unhealthy, recovering ${s.successes}/${t.healthyThreshold}`
        : `unhealthy (${failing})`;
    case "initializing":
      return s.failures
        ? `initializing (${failing})`
        : `initializing ${s.successes}/${t.healthyThreshold}`;
  }
}
