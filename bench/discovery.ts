/**
 * Discovery benchmark: how fast a member announced in ZooKeeper starts (and stops)
 * receiving traffic through nginx, where aurproxy's part of that time goes, and how
 * aurproxy behaves with many endpoints and many changes. Cases (`--cases`, default all):
 *
 * - `latency`: join/leave p50/p95 over `--trials` with `--max-update-frequency 0` and
 *   `worker_processes auto`, with aurproxy's step-by-step breakdown from the ZooKeeper
 *   event to the SIGHUP (see discovery/latency.ts, discovery/trace.ts); the baseline is
 *   `--baseline-trials` with the original defaults (2 s period, 10 s minimum interval).
 *   The client sends its next request as soon as the last is answered; the same trials
 *   run again with a client pausing 1 ms between requests (nginx idle in between).
 * - `scale`: 50 jobs x 40 members, then 10 changes/s for `--churn-seconds` under wrk.
 * - `job`: one job with 2,000 members, 10 changes/s for `--churn-seconds`,
 *   `--max-update-frequency=1`: aurproxy CPU and RSS (the issue measured 10 minutes:
 *   `--churn-seconds=600`).
 * - `start`: 250 jobs x 40 members, start to first complete config.
 *
 * See discovery/scale.ts for the scale cases.
 *
 *   deno run -A bench/discovery.ts [--cases=latency,scale,job,start] [--trials=20]
 *     [--baseline-trials=5] [--churn-seconds=60] [--context='{"multi_accept":"on"}']
 *     [--profile-dir=DIR]   (the job case's aurproxy runs with --cpu-prof into DIR)
 *     [--tag=NAME]          (results in bench/results/discovery-NAME.json)
 *
 * @module
 */

import { taskRunFlags } from "../testing/entry_points.ts";
import { parseArgs } from "node:util";
import { startZooKeeper } from "../testing/zookeeper.ts";
import { percentile, report, type Row, selectCases } from "./lib.ts";
import { latency, type LatencyResult } from "./discovery/latency.ts";
import { jobChurn, scale, start } from "./discovery/scale.ts";
import { STEP_LABELS, STEPS } from "./discovery/trace.ts";

const ALL_CASES = ["latency", "scale", "job", "start"];
const { values } = parseArgs({
  args: Deno.args,
  options: {
    cases: { type: "string", default: ALL_CASES.join(",") },
    trials: { type: "string", default: "20" },
    "baseline-trials": { type: "string", default: "5" },
    "churn-seconds": { type: "string", default: "60" },
    context: { type: "string", default: "{}" },
    "aurproxy-flags": { type: "string", default: "" },
    "profile-dir": { type: "string", default: "" },
    tag: { type: "string", default: "" },
  },
});
const cases = selectCases(values.cases, ALL_CASES);
const churnSeconds = Number(values["churn-seconds"]);
const context = JSON.parse(values.context) as Record<string, unknown>;
// aurproxy runs as `deno task run` runs it (its V8 flags included), plus any given here.
const denoFlags = [
  ...(await taskRunFlags()).filter((f) => f !== "-A" && f !== "--allow-all"),
  ...(values["aurproxy-flags"] ? values["aurproxy-flags"].split(" ") : []),
];

const p = (xs: number[], q: number) => percentile(xs, q);
const both = (xs: number[]) => `${p(xs, 50).toFixed(1)} / ${p(xs, 95).toFixed(1)}`;

function latencyRows(fast: LatencyResult, slow?: LatencyResult): Row[] {
  const aurproxy = fast.steps.map((s) =>
    STEPS.slice(1, STEPS.indexOf("signalling") + 1).reduce((n, k) => n + s[k], 0)
  );
  return [
    {
      metric: "join latency p50 (create -> first answer, worker_processes auto)",
      value: p(fast.joins, 50),
      baseline: slow && p(slow.joins, 50),
      unit: "ms",
      target: "<= 30 ms",
    },
    {
      metric: "join latency p95",
      value: p(fast.joins, 95),
      baseline: slow && p(slow.joins, 95),
      unit: "ms",
      target: "<= 60 ms",
    },
    {
      metric: "leave latency p50 (delete -> last answer from it)",
      value: p(fast.leaves, 50),
      baseline: slow && p(slow.leaves, 50),
      unit: "ms",
      target: "aurproxy's part + nginx's 100 ms",
    },
    {
      metric: "leave latency p95",
      value: p(fast.leaves, 95),
      baseline: slow && p(slow.leaves, 95),
      unit: "ms",
    },
    {
      metric: "failed requests (one client, new connection each), all latency runs",
      value: fast.failed + (slow?.failed ?? 0),
      target: "0",
    },
    {
      metric: "requests sent by that client",
      value: fast.requests + (slow?.requests ?? 0),
    },
    ...STEPS.map((s) => ({
      metric: `  step p50 / p95: ${STEP_LABELS[s]}`,
      value: both(fast.steps.map((d) => d[s])),
      unit: "ms",
    })),
    {
      metric: "aurproxy's part p50 (watch -> SIGHUP)",
      value: p(aurproxy, 50),
      unit: "ms",
      target: "<= 15 ms",
    },
    { metric: "aurproxy's part p95", value: p(aurproxy, 95), unit: "ms" },
    {
      metric: "nginx: SIGHUP -> first answer from a joined backend, p50 / p95",
      value: both(fast.hupToFirst),
      unit: "ms",
    },
    {
      metric: "nginx: SIGHUP -> last answer from a removed backend, p50 / p95",
      value: both(fast.hupToLast),
      unit: "ms",
      target: "~100 ms: old workers accept until nginx retires them",
    },
  ];
}

/** The same trials with a client that leaves nginx idle between requests. */
function pacedRows(r: LatencyResult): Row[] {
  return [
    {
      metric: "paced client (1 ms between requests): join p50 / p95",
      value: both(r.joins),
      unit: "ms",
      target: "<= 30 / 60 ms",
    },
    { metric: "paced client: leave p50 / p95", value: both(r.leaves), unit: "ms" },
    {
      metric: "paced client: nginx SIGHUP -> first answer from a joined backend, p50 / p95",
      value: both(r.hupToFirst),
      unit: "ms",
    },
    { metric: "paced client: failed requests", value: r.failed, target: "0" },
  ];
}

const zk = await startZooKeeper({ tickTime: 500 });
const rows: Row[] = [];
const extra: Record<string, unknown> = { cases, context, churnSeconds };
try {
  if (cases.includes("latency")) {
    console.error("latency, --max-update-frequency 0:");
    const fast = await latency(zk, {
      trials: Number(values.trials),
      warmup: 2,
      flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
      paired: false,
      context,
      denoFlags,
    });
    console.error("latency, --max-update-frequency 0, client pausing 1 ms between requests:");
    const paced = await latency(zk, {
      trials: Number(values.trials),
      warmup: 2,
      flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
      paired: false,
      context,
      denoFlags,
      pauseMs: 1,
    });
    const baselineTrials = Number(values["baseline-trials"]);
    let slow: LatencyResult | undefined;
    if (baselineTrials > 0) {
      console.error("latency, original defaults (--update-period 2 --max-update-frequency 10):");
      slow = await latency(zk, {
        trials: baselineTrials,
        flags: [
          "--update-period=2",
          "--max-update-frequency=10",
          "--weight-adjustment-delay-seconds=0",
        ],
        paired: true,
        context,
        denoFlags,
      });
    }
    rows.push(...latencyRows(fast, slow), ...pacedRows(paced));
    extra.latency = { fast, paced, slow };
  }
  if (cases.includes("scale")) {
    console.error("scale: 50 jobs x 40 members");
    const s = await scale(zk, churnSeconds, denoFlags);
    rows.push(
      {
        metric: "2,000 endpoints (50 x 40): start to first complete config (run --setup)",
        value: s.startToConfigMs,
        unit: "ms",
        target: "<= 3000 ms",
      },
      {
        metric: "2,000 endpoints: aurproxy RSS at rest",
        value: s.rest.rssMaxMb,
        unit: "MB",
        target: "<= 150 MB",
      },
      { metric: "2,000 endpoints: render + nginx -t + reload", value: s.applyMs, unit: "ms" },
      { metric: `churn (50 jobs): member changes in ${churnSeconds} s`, value: s.changes },
      {
        metric: "churn (50 jobs): endpoints in the config (min-max)",
        value: `${s.endpointsMin}-${s.endpointsMax}`,
        target: "2,000 +- 1",
      },
      { metric: "churn (50 jobs): nginx reloads (coalesced, min interval 1 s)", value: s.reloads },
      {
        metric: "churn (50 jobs): requests through nginx (new connection each)",
        value: s.requests,
      },
      { metric: "churn (50 jobs): failed requests", value: s.failed, target: "0" },
      {
        metric: "churn (50 jobs): aurproxy CPU mean / highest 1 s",
        value: `${s.under.cpuMeanPct.toFixed(1)} / ${s.under.cpuMaxPct.toFixed(0)}`,
        unit: "% of a core",
      },
      {
        metric: "churn (50 jobs): aurproxy RSS highest sample",
        value: s.under.rssMaxMb,
        unit: "MB",
        target: "<= 150 MB",
      },
    );
    extra.scale = s;
  }
  if (cases.includes("job")) {
    console.error("job: one job x 2,000 members, 10 changes/s");
    const profile = values["profile-dir"]
      ? ["--cpu-prof", `--cpu-prof-dir=${values["profile-dir"]}`]
      : [];
    const j = await jobChurn(zk, {
      members: 2000,
      perSecond: 10,
      seconds: churnSeconds,
      denoFlags: [...denoFlags, ...profile],
    });
    rows.push(
      {
        metric: `1 job x 2,000: changes in ${churnSeconds} s (10/s) / reloads`,
        value: `${j.changes} / ${j.reloads}`,
      },
      {
        metric: "1 job x 2,000: aurproxy CPU under churn, mean",
        value: j.under.cpuMeanPct,
        baseline: j.rest.cpuMeanPct,
        unit: "% of a core",
        target: "<= 10 %",
      },
      {
        metric: "1 job x 2,000: aurproxy CPU under churn, highest 1 s sample",
        value: j.under.cpuMaxPct,
        unit: "% of a core",
      },
      {
        metric: "1 job x 2,000: nginx -t children CPU under churn, mean",
        value: j.under.childCpuMeanPct,
        unit: "% of a core",
      },
      {
        metric: "1 job x 2,000: aurproxy RSS at rest",
        value: j.rest.rssMaxMb,
        unit: "MB",
        target: "<= 150 MB",
      },
      {
        metric: "1 job x 2,000: aurproxy RSS highest sample under churn",
        value: j.under.rssMaxMb,
        unit: "MB",
        target: "<= 150 MB",
      },
      {
        metric: "1 job x 2,000: V8 heap used, highest sample under churn (once a second)",
        value: Math.max(...j.heapMb),
        unit: "MB",
      },
      {
        metric: "1 job x 2,000: endpoints in the config after the churn",
        value: j.endpointsAfter,
        target: "2000",
      },
    );
    extra.job = j;
  }
  if (cases.includes("start")) {
    console.error("start: 250 jobs x 40 members");
    const s = await start(zk, { jobs: 250, members: 40, denoFlags });
    rows.push(
      {
        metric: "10,000 endpoints (250 x 40): start to first complete config (run --setup)",
        value: s.startToConfigMs,
        unit: "ms",
        target: "<= 3000 ms",
      },
      { metric: "10,000 endpoints: aurproxy RSS after first reload", value: s.rssMb, unit: "MB" },
      { metric: "10,000 endpoints: render + nginx -t + reload", value: s.applyMs, unit: "ms" },
    );
    extra.start = s;
  }
  await report(values.tag ? `discovery-${values.tag}` : "discovery", rows, extra);
} finally {
  await zk.destroy();
}
