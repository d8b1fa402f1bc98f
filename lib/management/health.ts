/**
 * Health as Aurora sees it. Aurora's executor compares the body of `GET /health`, stripped
 * and lower-cased, with "ok": anything else counts as a failed check, and enough of them
 * kill the task, nginx included. So only a state where restarting aurproxy helps may
 * fail the check; a degraded state (ZooKeeper unreachable, serving the last known
 * endpoints) answers "OK" and carries its reasons in a header and in `/health/details`.
 *
 * @module
 */

import type { HealthCheckResult, HealthLevel, HealthProbe } from "../model/health.ts";

const RANK: Record<HealthLevel, number> = { ok: 0, degraded: 1, failed: 2 };

/** Combines probes: the worst level wins, all lines are kept. */
export function combineHealth(probes: readonly HealthProbe[]): HealthCheckResult {
  let level: HealthLevel = "ok";
  const lines: string[] = [];
  for (const p of probes) {
    const r = p();
    if (RANK[r.level] > RANK[level]) level = r.level;
    lines.push(...r.lines);
  }
  return { level, lines };
}

/** The body of `GET /health`: "OK" unless failed (then the original's failure text). */
export function healthBody(r: HealthCheckResult): string {
  if (r.level === "failed") {
    return `Health checks failed: ${r.lines.join("; ")}`;
  }
  return "OK";
}
