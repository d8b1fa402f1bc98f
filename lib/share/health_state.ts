/**
 * The health-check state machine, pure: results in, status out.
 *
 * - A new endpoint is `initializing` (share 0) until `healthyThreshold` consecutive successes.
 * - `unhealthyThreshold` consecutive failures make it `unhealthy` (share 0).
 * - `healthyThreshold` consecutive successes make it `healthy` again.
 * - An inconclusive result (our own DNS failure) changes nothing: it says nothing about
 *   the endpoint.
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
  readonly successes: number;
  readonly failures: number;
  /** The reason of the last failure or inconclusive result. */
  readonly lastReason?: string;
}

export interface Thresholds {
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export const INITIAL_HEALTH: HealthState = { status: "initializing", successes: 0, failures: 0 };

/**
 * @example
 * ```ts
 * let s = INITIAL_HEALTH;
 * s = nextHealth(s, { kind: "success" }, { healthyThreshold: 1, unhealthyThreshold: 2 });
 * s.status; // "healthy"
 * ```
 */
export function nextHealth(s: HealthState, r: CheckResult, t: Thresholds): HealthState {
  switch (r.kind) {
    case "inconclusive":
      return { ...s, lastReason: r.reason };
    case "success": {
      const successes = s.successes + 1;
      const status = s.status !== "healthy" && successes >= t.healthyThreshold
        ? "healthy"
        : s.status;
      return { status, successes, failures: 0, lastReason: s.lastReason };
    }
    case "failure": {
      const failures = s.failures + 1;
      const status = s.status !== "unhealthy" && failures >= t.unhealthyThreshold
        ? "unhealthy"
        : s.status;
      return { status, successes: 0, failures, lastReason: r.reason };
    }
  }
}

/** 1 when healthy, else 0. */
export function healthShare(s: HealthState): number {
  return s.status === "healthy" ? 1 : 0;
}

/** Audit text, e.g. "healthy", "unhealthy (3 failures: status 500)", "initializing 1/2". */
export function describeHealth(s: HealthState, t: Thresholds): string {
  switch (s.status) {
    case "healthy":
      return s.failures ? `healthy (${s.failures} failure(s): ${s.lastReason})` : "healthy";
    case "unhealthy":
      return s.successes
        ? `unhealthy, recovering ${s.successes}/${t.healthyThreshold}`
        : `unhealthy (${s.failures} failure(s): ${s.lastReason})`;
    case "initializing":
      return s.failures
        ? `initializing (${s.failures} failure(s): ${s.lastReason})`
        : `initializing ${s.successes}/${t.healthyThreshold}`;
  }
}
