/**
 * Discovery benchmark: how fast a member announced in ZooKeeper starts (and stops)
 * receiving traffic through nginx, and how aurproxy behaves at 2,000 endpoints.
 *
 * Latency: from the `create` of a member znode to the first request through nginx answered
 * by that backend, and from its deletion to the last such request; p50/p95 over
 * `--trials` (default 20) with `--max-update-frequency 0`, and over `--baseline-trials`
 * (default 20) with the original defaults (2 s period, 10 s minimum interval) as the
 * baseline. Each trial's leave goes out with the next trial's join, so that with a 10 s
 * minimum interval the two share an update (about 10 s per baseline trial, not 20).
 *
 * Scale: 50 jobs x 40 members; time from aurproxy's start to the first complete config
 * written (the `run --setup` process, spawn to exit, which reads all 2,000 members,
 * renders and writes), aurproxy's RSS, the apply (render + nginx -t + reload) time; then
 * 10 member changes/s for `--churn-seconds` (default 60), alternately removing and
 * re-creating one member, job after job (job0, the one wrk hits, included), so the
 * endpoints stay at 2,000 +- 1, while wrk sends requests through nginx with a new
 * connection per request: reloads (coalesced), failed requests, aurproxy CPU.
 *
 *   deno run -A bench/discovery.ts [--trials=20] [--baseline-trials=20] [--churn-seconds=60]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { systemClock } from "../lib/clock.ts";
import { memoryLogger } from "../lib/log.ts";
import { serverSetMemberJson } from "../lib/zk/announcer.ts";
import { zk as zkClient } from "../lib/zk/client.ts";
import { ZkSession } from "../lib/zk/session.ts";
import { httpGet } from "../testing/http.ts";
import { nginxKeys, startStack } from "../testing/aurproxy_stack.ts";
import { freePort, waitFor } from "../testing/ports.ts";
import { startZooKeeper, type TestZooKeeper } from "../testing/zookeeper.ts";
import { cpuSeconds, percentile, report, rssMb, wrk } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trials: { type: "string", default: "20" },
    "baseline-trials": { type: "string", default: "20" },
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
  /** How long `run --setup` took, spawn to exit: start to the first config written. */
  readonly setupMs: number;
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
    setupMs: stack.setupMs,
    metrics: stack.metrics,
    stop: async () => {
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A backend answering its name. */
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
  // Poll through nginx all along, a new connection per request, recording when each
  // backend answered first and last.
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      let who = "error";
      try {
        who = (await httpGet(ap.proxyPort, "/")).body;
      } catch {
        // Counted as "error", never as a trial backend.
      }
      const at = performance.now();
      if (!first.has(who)) first.set(who, at);
      last.set(who, at);
    }
  })();
  const trialBackends: ReturnType<typeof backend>[] = [];
  const members: string[] = [];
  const created: number[] = [];
  const join = async (k: number) => {
    trialBackends[k] = backend(`t${k}`);
    created[k] = performance.now();
    members[k] = await admin.create(
      `${path}/member_`,
      serverSetMemberJson({ host: "127.0.0.1", port: trialBackends[k].port }),
      zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
  };
  try {
    await waitFor("base serving", () => first.has("base"), 30_000);
    await join(0);
    for (let k = 0; k < trials; k++) {
      const name = trialBackends[k].name;
      await waitFor(`${name} serving`, () => first.has(name), 60_000, 1);
      joins.push(first.get(name)! - created[k]);
      const removed = performance.now();
      await Promise.all([admin.remove(members[k]), k + 1 < trials ? join(k + 1) : undefined]);
      // Gone once nothing from it came back for 300 ms.
      await waitFor(
        `${name} gone`,
        () => performance.now() - Math.max(last.get(name)!, removed) > 300,
        60_000,
        5,
      );
      leaves.push(Math.max(0, last.get(name)! - removed));
      await trialBackends[k].close();
      console.error(
        `  trial ${k + 1}/${trials}: join ${joins.at(-1)!.toFixed(0)} ms, leave ${
          leaves.at(-1)!.toFixed(0)
        } ms`,
      );
    }
  } finally {
    polling = false;
    await poller;
    await ap.stop();
    await admin.close();
    await base.close();
    for (const b of trialBackends) await b.close();
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
  // Job 0's members are live backends (wrk hits them); the others' ports are never dialled.
  const portOf = (j: number, i: number) => j === 0 ? live[i].port : 20000 + j * MEMBERS + i;
  const create = (j: number, i: number) =>
    admin.create(
      `/aurora/bench/prod/job${j}/member_`,
      serverSetMemberJson({ host: "127.0.0.1", port: portOf(j, i) }),
      zkClient.CreateMode.PERSISTENT_SEQUENTIAL,
    );
  for (let j = 0; j < JOBS; j++) {
    await admin.mkdirp(`/aurora/bench/prod/job${j}`);
    members.push(await Promise.all(Array.from({ length: MEMBERS }, (_, i) => create(j, i))));
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
  let samples: { changes: number; rssMb: number; heapMb: number; endpoints: number }[] = [];
  const conf = `${ap.dir}/conf/nginx.conf`;
  const endpointsInConfig = async () => {
    const text = await Deno.readTextFile(conf).catch(() => "");
    return (text.match(/^\s+server 127\.0\.0\.1:\d+ weight=/gm) ?? []).length;
  };
  try {
    // `--setup` has exited: the config it wrote must already be complete.
    const written = await endpointsInConfig();
    if (written !== JOBS * MEMBERS) {
      throw new Error(`--setup wrote ${written} endpoints, not ${JOBS * MEMBERS}`);
    }
    out.startToConfigMs = ap.setupMs;
    await waitFor(
      "first reload",
      async () => (await ap.metrics())["aurproxy.reloads"] >= 1,
      30_000,
    );
    const m0 = await ap.metrics();
    out.applyMs = (m0["aurproxy.last_apply_duration_seconds"] ?? NaN) * 1000;
    out.rssMb = rssMb(ap.pid);
    out.heapMb = (await ap.metrics())["aurproxy.process_heap_used_bytes"] / 1e6;

    // Churn: 10 changes/s while wrk runs. Change 2n removes member (j, i) and change 2n+1
    // creates it again (same instance, new znode), with (j, i) walking every job in turn,
    // job0 included: 2,000 endpoints, 1,999 between the two halves of a pair.
    const cpu0 = cpuSeconds(ap.pid);
    const reloads0 = m0["aurproxy.reloads"];
    const t0 = performance.now();
    let changes = 0;
    let fewest = JOBS * MEMBERS, most = JOBS * MEMBERS;
    const memory: typeof samples = [];
    const churn = (async () => {
      while (performance.now() - t0 < churnSeconds * 1000) {
        const pair = Math.floor(changes / 2);
        const j = pair % JOBS;
        const i = Math.floor(pair / JOBS) % MEMBERS;
        if (changes % 2 === 0) await admin.remove(members[j][i]);
        else members[j][i] = await create(j, i);
        changes++;
        if (changes % 100 === 0) {
          const m = await ap.metrics();
          const endpoints = await endpointsInConfig();
          fewest = Math.min(fewest, endpoints);
          most = Math.max(most, endpoints);
          memory.push({
            changes,
            rssMb: rssMb(ap.pid),
            heapMb: m["aurproxy.process_heap_used_bytes"] / 1e6,
            endpoints,
          });
          console.error(
            `  after ${changes} changes: ${endpoints} endpoints, RSS ${
              memory.at(-1)!.rssMb.toFixed(0)
            } MB, heap ${memory.at(-1)!.heapMb.toFixed(0)} MB`,
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
    out.reloads = m1["aurproxy.reloads"] - reloads0;
    out.cpuPct = ((cpuSeconds(ap.pid) - cpu0) / wall) * 100;
    out.rssAfterMb = rssMb(ap.pid);
    out.heapAfterMb = m1["aurproxy.process_heap_used_bytes"] / 1e6;
    samples = memory;
    out.requests = load.requests;
    out.rps = load.rps;
    out.failed = load.errors + load.non2xx;
    // Once the last change has reached the config (min interval 1 s), count again.
    await new Promise((r) => setTimeout(r, 2000));
    const end = await endpointsInConfig();
    out.endpointsMin = Math.min(fewest, end);
    out.endpointsMax = Math.max(most, end);
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
      metric: "2,000 endpoints: start to first complete config (run --setup)",
      value: s.startToConfigMs,
      unit: "ms",
      target: "<= 3000 ms",
    },
    { metric: "2,000 endpoints: aurproxy RSS", value: s.rssMb, unit: "MB", target: "<= 150 MB" },
    { metric: "2,000 endpoints: render + nginx -t + reload", value: s.applyMs, unit: "ms" },
    { metric: `churn: member changes in ${values["churn-seconds"]} s`, value: s.changes },
    {
      metric: "churn: endpoints in the config (min-max)",
      value: `${s.endpointsMin}-${s.endpointsMax}`,
      target: "2,000 +- 1",
    },
    { metric: "churn: nginx reloads (coalesced, min interval 1 s)", value: s.reloads },
    { metric: "churn: requests through nginx (new connection each)", value: s.requests },
    { metric: "churn: failed requests", value: s.failed, target: "0" },
    { metric: "churn: aurproxy CPU", value: s.cpuPct, unit: "% of a core" },
    {
      // The RSS target is for the 2,000 endpoints at rest (above). Under churn the
      // heap follows the garbage collector (each update re-renders 2,000 server lines), so
      // both the last and the highest sample are shown: growth would show as a rising trend.
      metric: "churn: aurproxy RSS after / highest sample",
      value: `${s.rssAfterMb.toFixed(0)} / ${
        Math.max(s.rssAfterMb, ...s.memory.map((m) => m.rssMb)).toFixed(0)
      } MB`,
    },
  ], { trials: { fast, slow }, scale: s });
} finally {
  await zk.destroy();
}
