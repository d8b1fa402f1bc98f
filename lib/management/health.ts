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

/**
 * Combines probes: the worst level wins, all lines are kept, those of failed probes first
 * (the body then starts with the reason, as the original's named the first failing check).
 */
export function combineHealth(probes: readonly HealthProbe[]): HealthCheckResult {
  const results = probes.map((p) => p());
  let level: HealthLevel = "ok";
  for (const r of results) if (RANK[r.level] > RANK[level]) level = r.level;
  const ordered = results.filter((r) => r.level === "failed")
    .concat(results.filter((r) => r.level !== "failed"));
  return { level, lines: ordered.flatMap((r) => r.lines) };
}

/**
 * The body of `GET /health`: `OK`, or, when failed, the original's
 * `Health checks failed: <reason>` on one line (reasons joined with "; "; a reason that
 * quotes nginx's multi-line output is folded), always with status 200 as the original
 * (Aurora's UI shows the text of a 200 only).
 */
export function healthBody(r: HealthCheckResult): string {
  if (r.level === "failed") {
    const reasons = r.lines.map((l) => l.replace(/\s*\n\s*/g, " ").trim()).filter(Boolean);
    return `Health checks failed: ${reasons.join("; ")}`;
  }
  return "OK";
}
