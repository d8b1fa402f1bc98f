/**
 * Discovery benchmark: how fast a member announced in ZooKeeper starts (and stops)
 * receiving traffic through nginx, and how aurproxy behaves at 2,000 endpoints.
 *
 * Latency: from the `create` of a member znode to the first request through nginx answered
 * by that backend, and from its deletion to the last such request; p50/p95 over
 * `--trials` (default 20) with `--max-update-frequency 0`, and over `--baseline-trials`
 * (default 10, each can take up to 20 s) with the original defaults (2 s period, 10 s
 * minimum interval) as the baseline.
 *
 * Scale: 50 jobs x 40 members; time from start to the first complete config, aurproxy's
 * RSS, the apply (render + nginx -t + reload) time; then 10 member changes/s for
 * `--churn-seconds` (default 60) while wrk sends requests through nginx with a new
 * connection per request: reloads (coalesced), failed requests, aurproxy CPU.
 *
 *   deno run -A bench/discovery.ts [--trials=20] [--baseline-trials=10] [--churn-seconds=60]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { systemClock } from "../lib/clock.ts";
import { memoryLogger } from "../lib/log.ts";
import { serverSetMemberJson } from "../lib/zk/announcer.ts";
import { zk as zkClient } from "../lib/zk/client.ts";
import { ZkSession } from "../lib/zk/session.ts";
import { httpGet } from "../tests/helpers/http.ts";
import { nginxKeys, startStack } from "../tests/helpers/aurproxy_stack.ts";
import { freePort, waitFor } from "../tests/helpers/ports.ts";
import { startZooKeeper, type TestZooKeeper } from "../tests/helpers/zookeeper.ts";
import { cpuSeconds, percentile, report, rssMb, wrk } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trials: { type: "string", default: "20" },
    "baseline-trials": { type: "string", default: "10" },
    "churn-seconds": { type: "string", default: "60" },
    "aurproxy-flags": { type: "string", default: "" },
    "scale-only": { type: "boolean", default: false },
  },
});

interface Aurproxy {
  readonly dir: string;
  readonly proxyPort: number;
  readonly mgmtPort: number;
  readonly pid: number;
  readonly startedAt: number;
  metrics(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** --setup, nginx, then `aurproxy run` as a separate process, like production. */
async function startAurproxy(
  zk: TestZooKeeper,
  routes: { location: string; job: string }[],
  flags: string[],
): Promise<Aurproxy> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-" });
  const proxyPort = freePort();
  const stack = await startStack({
    dir,
    proxyPorts: [proxyPort],
    flags: ["--log-level=warn", ...flags],
    denoFlags: values["aurproxy-flags"] ? values["aurproxy-flags"].split(" ") : [],
    config: {
      backend: "nginx",
      ...nginxKeys(dir),
      context: { worker_connections: 8192 },
      servers: [{
        ports: [proxyPort],
        routes: routes.map((r) => ({
          locations: [r.location],
          sources: [{
            source_class: "tellapart.aurproxy.source.AuroraProxySource",
            zk_servers: zk.connectString,
            role: "bench",
            environment: "prod",
            job: r.job,
          }],
        })),
      }],
    },
  });
  return {
    dir,
    proxyPort,
    mgmtPort: stack.mgmtPort,
    pid: stack.pid,
    startedAt: stack.startedAt,
    metrics: stack.metrics,
    stop: async () => {
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A backend answering its name; `hits` records when each request arrived. */
function backend(name: string) {
  const port = freePort();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    () => new Response(name),
  );
  return { name, port, close: async () => (ac.abort(), await server.finished) };
}

async function latency(zk: TestZooKeeper, trials: number, flags: string[]) {
  const job = `lat${Math.random().toString(36).slice(2, 8)}`;
  const path = `/aurora/bench/prod/${job}`;
  const admin = new ZkSession(zk.connectString, {
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  await admin.waitConnected(10_000);
  await admin.mkdirp(path);
  const base = backend("base");
  await admin.create(
    `${path}/member_`,
    serverSetMemberJson({ host: "127.0.0.1", port: base.port }),
    zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
  );
  const ap = await startAurproxy(zk, [{ location: "/", job }], flags);
  const joins: number[] = [];
  const leaves: number[] = [];
  try {
    await waitFor(
      "base serving",
      async () => (await httpGet(ap.proxyPort, "/")).body === "base",
      30_000,
    );
    for (let i = 0; i < trials; i++) {
      const b = backend(`t${i}`);
      // Poll through nginx, a new connection per request, recording who answered when.
      let polling = true;
      const seen: { at: number; who: string }[] = [];
      const poller = (async () => {
        while (polling) {
          try {
            const r = await httpGet(ap.proxyPort, "/");
            seen.push({ at: performance.now(), who: r.body });
          } catch {
            seen.push({ at: performance.now(), who: "error" });
          }
        }
      })();
      const t0 = performance.now();
      const member = await admin.create(
        `${path}/member_`,
        serverSetMemberJson({ host: "127.0.0.1", port: b.port }),
        zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      await waitFor("trial backend serving", () => seen.some((s) => s.who === b.name), 30_000, 1);
      joins.push(seen.find((s) => s.who === b.name)!.at - t0);
      const t1 = performance.now();
      await admin.remove(member);
      // Gone once nothing from it came back for 300 ms.
      await waitFor(
        "trial backend gone",
        () => {
          const last = seen.findLast((s) => s.who === b.name)?.at ?? t1;
          return performance.now() - Math.max(last, t1) > 300;
        },
        30_000,
        5,
      );
      leaves.push(Math.max(0, (seen.findLast((s) => s.who === b.name)?.at ?? t1) - t1));
      polling = false;
      await poller;
      await b.close();
      console.error(
        `  trial ${i + 1}/${trials}: join ${joins.at(-1)!.toFixed(0)} ms, leave ${
          leaves.at(-1)!.toFixed(0)
        } ms`,
      );
    }
  } finally {
    await ap.stop();
    await admin.close();
    await base.close();
  }
  return { joins, leaves };
}

async function scale(zk: TestZooKeeper, churnSeconds: number) {
  const JOBS = 50, MEMBERS = 40;
  const admin = new ZkSession(zk.connectString, {
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  await admin.waitConnected(10_000);
  const live = Array.from({ length: MEMBERS }, (_, i) => backend(`job0-${i}`));
  const members: string[][] = [];
  let fakePort = 20000;
  for (let j = 0; j < JOBS; j++) {
    const path = `/aurora/bench/prod/job${j}`;
    await admin.mkdirp(path);
    members.push(
      await Promise.all(Array.from({ length: MEMBERS }, (_, i) =>
        admin.create(
          `${path}/member_`,
          serverSetMemberJson({ host: "127.0.0.1", port: j === 0 ? live[i].port : fakePort++ }),
          zkClient.CreateMode.PERSISTENT_SEQUENTIAL,
        ))),
    );
  }
  const routes = Array.from(
    { length: JOBS },
    (_, j) => ({ location: `/job${j}/`, job: `job${j}` }),
  );
  const ap = await startAurproxy(zk, routes, [
    "--max-update-frequency=1",
    "--weight-adjustment-delay-seconds=0",
  ]);
  const out: Record<string, number> = {};
  let samples: { changes: number; rssMb: number; heapMb: number }[] = [];
  try {
    const conf = `${ap.dir}/conf/nginx.conf`;
    await waitFor(
      "complete config",
      async () => {
        const text = await Deno.readTextFile(conf).catch(() => "");
        return (text.match(/^\s+server 127\.0\.0\.1:\d+ weight=/gm) ?? []).length ===
          JOBS * MEMBERS;
      },
      60_000,
      10,
    );
    out.startToConfigMs = performance.now() - ap.startedAt;
    await waitFor(
      "first reload",
      async () => (await ap.metrics())["aurproxy_reloads_total"] >= 1,
      30_000,
    );
    const m0 = await ap.metrics();
    out.applyMs = (m0["aurproxy_apply_duration_seconds"] ?? NaN) * 1000;
    out.rssMb = rssMb(ap.pid);
    out.heapMb = (await ap.metrics())["aurproxy_process_heap_used_bytes"] / 1e6;

    // Churn: 10 changes/s (alternately remove and re-add a member) while wrk runs.
    const cpu0 = cpuSeconds(ap.pid);
    const reloads0 = m0["aurproxy_reloads_total"];
    const t0 = performance.now();
    let changes = 0;
    const memory: { changes: number; rssMb: number; heapMb: number }[] = [];
    const churn = (async () => {
      let k = 0;
      while (performance.now() - t0 < churnSeconds * 1000) {
        const j = k % JOBS;
        const i = Math.floor(k / JOBS) % MEMBERS;
        const path = `/aurora/bench/prod/job${j}`;
        if (k % 2 === 0) {
          await admin.remove(members[j][i]);
        } else {
          members[j][i] = await admin.create(
            `${path}/member_`,
            serverSetMemberJson({ host: "127.0.0.1", port: j === 0 ? live[i].port : 30000 + k }),
            zkClient.CreateMode.PERSISTENT_SEQUENTIAL,
          );
          k++;
        }
        if (k % 2 === 0) k++;
        changes++;
        if (changes % 100 === 0) {
          const m = await ap.metrics();
          memory.push({
            changes,
            rssMb: rssMb(ap.pid),
            heapMb: m["aurproxy_process_heap_used_bytes"] / 1e6,
          });
          console.error(
            `  after ${changes} changes: RSS ${memory.at(-1)!.rssMb.toFixed(0)} MB, heap ${
              memory.at(-1)!.heapMb.toFixed(0)
            } MB`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const load = await wrk(`http://127.0.0.1:${ap.proxyPort}/job0/`, {
      seconds: churnSeconds,
      connections: 16,
      close: true,
    });
    await churn;
    const wall = (performance.now() - t0) / 1000;
    const m1 = await ap.metrics();
    out.changes = changes;
    out.reloads = m1["aurproxy_reloads_total"] - reloads0;
    out.cpuPct = ((cpuSeconds(ap.pid) - cpu0) / wall) * 100;
    out.rssAfterMb = rssMb(ap.pid);
    out.heapAfterMb = m1["aurproxy_process_heap_used_bytes"] / 1e6;
    samples = memory;
    out.requests = load.requests;
    out.rps = load.rps;
    out.failed = load.errors + load.non2xx;
  } finally {
    await ap.stop();
    await admin.close();
    for (const b of live) await b.close();
  }
  return Object.assign(out, { memory: samples });
}

const zk = await startZooKeeper({ tickTime: 500 });
if (Deno.args.includes("--scale-only")) {
  console.log(await scale(zk, Number(values["churn-seconds"])));
  await zk.destroy();
  Deno.exit(0);
}
try {
  console.error("latency, --max-update-frequency 0:");
  const fast = await latency(zk, Number(values.trials), [
    "--max-update-frequency=0",
    "--weight-adjustment-delay-seconds=0",
  ]);
  console.error("latency, original defaults (--update-period 2 --max-update-frequency 10):");
  const slow = await latency(zk, Number(values["baseline-trials"]), [
    "--update-period=2",
    "--max-update-frequency=10",
    "--weight-adjustment-delay-seconds=0",
  ]);
  console.error("scale: 50 jobs x 40 members");
  const s = await scale(zk, Number(values["churn-seconds"]));
  await report("discovery", [
    {
      metric: "join latency p50",
      value: percentile(fast.joins, 50),
      baseline: percentile(slow.joins, 50),
      unit: "ms",
      target: "<= 250 ms",
    },
    {
      metric: "join latency p95",
      value: percentile(fast.joins, 95),
      baseline: percentile(slow.joins, 95),
      unit: "ms",
      target: "<= 500 ms",
    },
    {
      metric: "leave latency p50",
      value: percentile(fast.leaves, 50),
      baseline: percentile(slow.leaves, 50),
      unit: "ms",
      target: "<= 250 ms",
    },
    {
      metric: "leave latency p95",
      value: percentile(fast.leaves, 95),
      baseline: percentile(slow.leaves, 95),
      unit: "ms",
      target: "<= 500 ms",
    },
    {
      metric: "2,000 endpoints: start to first complete config",
      value: s.startToConfigMs,
      unit: "ms",
      target: "<= 3000 ms",
    },
    { metric: "2,000 endpoints: aurproxy RSS", value: s.rssMb, unit: "MB", target: "<= 150 MB" },
    { metric: "2,000 endpoints: render + nginx -t + reload", value: s.applyMs, unit: "ms" },
    { metric: `churn: member changes in ${values["churn-seconds"]} s`, value: s.changes },
    { metric: "churn: nginx reloads (coalesced, min interval 1 s)", value: s.reloads },
    { metric: "churn: requests through nginx (new connection each)", value: s.requests },
    { metric: "churn: failed requests", value: s.failed, target: "0" },
    { metric: "churn: aurproxy CPU", value: s.cpuPct, unit: "% of a core" },
    { metric: "churn: aurproxy RSS after", value: s.rssAfterMb, unit: "MB", target: "<= 150 MB" },
  ], { trials: { fast, slow }, scale: s });
} finally {
  await zk.destroy();
}
