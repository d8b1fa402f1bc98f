/**
 * HAProxy and nginx side by side, in the same run, each run by aurproxy (`run
 * --supervise`) on a ZooKeeper source. Cases (`--cases`, default all):
 *
 * - `latency`: discovery to traffic, `create` of a member → first answer from it, and
 *   leave, `delete` → last answer from it, p50/p95 over `--trials` (after 2 warm-up), a
 *   client polling on a new connection per request (haproxy/latency.ts).
 * - `ramp`: reloads while `--members` (100) new members are health-checked and ramped in
 *   over `--ramp-seconds` (haproxy/ramp.ts); HAProxy with 128 free server slots, and
 *   with the default 8 (its resizes are reloads).
 * - `churn`: wrk with keep-alive connections while a member is replaced 10 times a second
 *   for `--churn-seconds` (60), against the same stack without churn (haproxy/churn.ts).
 * - `dataplane`: wrk keep-alive through aurproxy's HAProxy config, a hand-written minimal
 *   HAProxy config, a hand-written one with the same features and aurproxy's nginx config
 *   on the same backends, `--rounds` rounds of `--seconds` (haproxy/dataplane.ts); alone:
 *   `--cases=dataplane`.
 *
 *   deno run -A bench/haproxy.ts [--cases=latency,ramp,churn,dataplane] [--trials=20]
 *     [--churn-seconds=60] [--members=100] [--ramp-seconds=10] [--rounds=3] [--seconds=5]
 *     [--quick]    (a few seconds a case, for development: results in haproxy-dev.json)
 *     [--tag=NAME] (results in bench/results/haproxy-NAME.json)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startZooKeeper } from "../testing/zookeeper.ts";
import { percentile, report, type Row, selectCases } from "./lib.ts";
import { churn, type ChurnResult } from "./haproxy/churn.ts";
import { dataplane, type DataplaneResult } from "./haproxy/dataplane.ts";
import { latency, type LatencyResult } from "./haproxy/latency.ts";
import { ramp, type RampResult } from "./haproxy/ramp.ts";
import { type Kind, KINDS, okBackends } from "./haproxy/stack.ts";

const ALL_CASES = ["latency", "ramp", "churn", "dataplane"];
const { values } = parseArgs({
  args: Deno.args,
  options: {
    cases: { type: "string", default: ALL_CASES.join(",") },
    trials: { type: "string", default: "20" },
    "churn-seconds": { type: "string", default: "60" },
    members: { type: "string", default: "100" },
    "ramp-seconds": { type: "string", default: "10" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    quick: { type: "boolean", default: false },
    tag: { type: "string", default: "" },
  },
});
const cases = selectCases(values.cases, ALL_CASES);
const quick = values.quick;
const trials = quick ? 5 : Number(values.trials);
const churnSeconds = quick ? 6 : Number(values["churn-seconds"]);
const members = Number(values.members);
const rampSeconds = quick ? 4 : Number(values["ramp-seconds"]);
const rounds = quick ? 1 : Number(values.rounds);
const seconds = quick ? 2 : Number(values.seconds);
const name = values.tag ? `haproxy-${values.tag}` : quick ? "haproxy-dev" : "haproxy";

const p = (xs: number[], q: number) => percentile(xs, q);
const med = (xs: number[]) => percentile(xs, 50);
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

function latencyRows(r: Record<Kind, LatencyResult>): Row[] {
  const h = r.haproxy, n = r.nginx;
  return [
    {
      metric: "HAProxy: join p50 (create -> first answer), baseline nginx",
      value: p(h.joins, 50),
      baseline: p(n.joins, 50),
      unit: "ms",
      target: "<= 15 ms",
    },
    {
      metric: "HAProxy: join p95",
      value: p(h.joins, 95),
      baseline: p(n.joins, 95),
      unit: "ms",
      target: "<= 30 ms",
    },
    {
      metric: "HAProxy: leave p50 (delete -> last answer from it)",
      value: p(h.leaves, 50),
      baseline: p(n.leaves, 50),
      unit: "ms",
    },
    { metric: "HAProxy: leave p95", value: p(h.leaves, 95), baseline: p(n.leaves, 95), unit: "ms" },
    ...KINDS.map((k) => ({
      metric: `${k}: failed requests / requests (new connection each), reloads`,
      value: `${r[k].failed} / ${r[k].requests}, ${r[k].reloads}`,
      target: "0 failed",
    })),
  ];
}

function rampRows(rs: RampResult[]): Row[] {
  return rs.map((r) => ({
    metric: `${
      r.kind === "nginx" ? "nginx" : `HAProxy (${r.label})`
    }: reloads during a ${r.members}-member ramp${
      r.runtimeChanges !== undefined ? `, runtime API changes` : ""
    }, members live at the end`,
    value: `${r.reloads}${
      r.runtimeChanges !== undefined ? `, ${r.runtimeChanges}` : ""
    }, ${r.liveAtEnd}`,
    target: r.kind === "haproxy" && r.label === "128 free slots"
      ? `0 reloads, ${r.members + 1} live`
      : `${r.members + 1} live`,
  }));
}

function churnRows(rs: ChurnResult[]): Row[] {
  return rs.flatMap((r) => {
    const who = r.kind === "nginx" ? "nginx" : "HAProxy";
    const errors = r.during.errors + r.during.non2xx;
    return [
      {
        metric: `${who}: errors during churn (socket errors + non-2xx) / requests`,
        value: `${errors} / ${r.during.requests}`,
        target: r.kind === "haproxy" ? "0" : "reported",
      },
      {
        metric: `${who}: req/s during churn, baseline without churn (mean before/after)`,
        value: Math.round(r.during.rps),
        baseline: Math.round((r.before.rps + r.after.rps) / 2),
        unit: "req/s",
        target: ">= 0.98x",
      },
      {
        metric: `${who}: member changes / reloads during churn`,
        value: `${r.changes} / ${r.reloads}`,
      },
    ];
  });
}

function dataplaneRows(d: DataplaneResult): Row[] {
  const hand = d["hand-written HAProxy"].map((w) => w.rps);
  const ratio = (xs: number[]) => med(xs.map((x, i) => x / hand[i]));
  const rel = (xs: number[], ys: number[]) => Number(med(xs.map((x, i) => x / ys[i])).toFixed(3));
  const feat = d["hand-written HAProxy, same features"].map((w) => w.rps);
  const featOff = d["hand-written HAProxy, same features, access_log off"].map((w) => w.rps);
  const hap = d["aurproxy HAProxy"].map((w) => w.rps);
  const hapOff = d["aurproxy HAProxy, access_log off"].map((w) => w.rps);
  const ngx = d["aurproxy nginx"].map((w) => w.rps);
  const ngxOff = d["aurproxy nginx, access_log off"].map((w) => w.rps);
  const failed = Object.values(d).flat().reduce((n, w) => n + w.errors + w.non2xx, 0);
  return [
    {
      metric:
        `aurproxy HAProxy: keep-alive req/s (median of ${rounds}), baseline hand-written HAProxy`,
      value: Math.round(med(hap)),
      baseline: Math.round(med(hand)),
      unit: "req/s",
    },
    {
      metric: "aurproxy HAProxy / hand-written HAProxy: per-round ratio, median",
      value: Number(ratio(hap).toFixed(3)),
      target: ">= 0.97",
    },
    {
      metric: "aurproxy HAProxy, access_log off / hand-written HAProxy: per-round ratio, median",
      value: Number(ratio(hapOff).toFixed(3)),
      target: ">= 0.97",
    },
    {
      metric: "hand-written HAProxy with the same features, access_log off / hand-written " +
        "minimal: per-round ratio, median (what the features cost)",
      value: rel(featOff, hand),
    },
    {
      metric: "aurproxy HAProxy / hand-written HAProxy with the same features (both logging): " +
        "per-round ratio, median (what aurproxy's rendering costs)",
      value: rel(hap, feat),
    },
    {
      metric: "aurproxy HAProxy, access_log off / hand-written HAProxy with the same features, " +
        "access_log off: per-round ratio, median",
      value: rel(hapOff, featOff),
    },
    {
      metric: "aurproxy nginx: keep-alive req/s, baseline hand-written HAProxy",
      value: Math.round(med(ngx)),
      baseline: Math.round(med(hand)),
      unit: "req/s",
    },
    {
      metric: "aurproxy nginx, access_log off / hand-written HAProxy: per-round ratio, median",
      value: Number(ratio(ngxOff).toFixed(3)),
    },
    {
      metric: "aurproxy HAProxy / aurproxy nginx (both logging): per-round ratio, median",
      value: Number(med(hap.map((x, i) => x / ngx[i])).toFixed(3)),
    },
    {
      metric: "aurproxy HAProxy / aurproxy nginx (access_log off): per-round ratio, median",
      value: Number(med(hapOff.map((x, i) => x / ngxOff[i])).toFixed(3)),
    },
    { metric: "data plane: failed requests, all runs", value: failed, target: "0" },
  ];
}

const rows: Row[] = [];
const extra: Record<string, unknown> = {
  cases,
  quick,
  cores: navigator.hardwareConcurrency,
  loadavgAtStart: load(),
};
const zk = await startZooKeeper({ tickTime: 500 });
const pool = await okBackends(Math.max(members + 1, 40));
try {
  if (cases.includes("latency")) {
    const r = {} as Record<Kind, LatencyResult>;
    for (const k of KINDS) {
      console.error(`latency, ${k}:`);
      r[k] = await latency(zk, k, { trials, warmup: 2 });
    }
    rows.push(...latencyRows(r));
    extra.latency = r;
  }
  if (cases.includes("ramp")) {
    const rs: RampResult[] = [];
    const variants: { kind: Kind; label: string; top?: Record<string, unknown> }[] = [
      { kind: "nginx", label: "nginx" },
      { kind: "haproxy", label: "128 free slots", top: { haproxy_free_slots: 128 } },
      { kind: "haproxy", label: "default 8 free slots" },
    ];
    for (const v of variants) {
      console.error(`ramp, ${v.label}:`);
      rs.push({
        ...await ramp(zk, v.kind, pool.ports, { members, rampSeconds, top: v.top }),
        label: v.label,
      });
      console.error(`  ${JSON.stringify(rs.at(-1))}`);
    }
    rows.push(...rampRows(rs));
    extra.ramp = { rampSeconds, results: rs };
  }
  if (cases.includes("churn")) {
    const rs: ChurnResult[] = [];
    for (const k of KINDS) {
      console.error(`churn, ${k}: 10 changes/s for ${churnSeconds} s`);
      rs.push(
        await churn(zk, k, pool.ports.slice(0, 40), {
          seconds: churnSeconds,
          members: 10,
          perSecond: 10,
          flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
        }),
      );
      const r = rs.at(-1)!;
      console.error(
        `  ${r.before.rps.toFixed(0)} / ${r.during.rps.toFixed(0)} / ${
          r.after.rps.toFixed(0)
        } req/s, ` +
          `errors ${r.during.errors + r.during.non2xx}, ${r.changes} changes, ${r.reloads} reloads`,
      );
    }
    rows.push(...churnRows(rs));
    extra.churn = { seconds: churnSeconds, results: rs };
  }
  if (cases.includes("dataplane")) {
    console.error(`dataplane: ${rounds} rounds of ${seconds} s`);
    const d = await dataplane(pool.ports.slice(0, 4), { seconds, rounds, connections: 32 });
    rows.push(...dataplaneRows(d));
    extra.dataplane = { seconds, rounds, runs: d };
  }
  extra.loadavgAtEnd = load();
  rows.push({
    metric: "load average at start / end (1, 5, 15 min)",
    value: `${extra.loadavgAtStart} / ${extra.loadavgAtEnd}`,
  });
  await report(name, rows, extra);
} finally {
  await pool.stop();
  await zk.destroy();
}
