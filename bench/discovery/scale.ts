/**
 * aurproxy at scale, against a real ZooKeeper and nginx:
 *
 * - `scale`: 50 jobs x 40 members; start to the first complete config (the `run --setup`
 *   process, spawn to exit), RSS, the apply; then 10 member changes/s for the window,
 *   alternately removing and re-creating one member, job after job (job0, the one wrk
 *   hits, included), so the endpoints stay at 2,000 +- 1, while wrk sends requests through
 *   nginx with a new connection per request: reloads (coalesced), failed requests, CPU.
 * - `job`: one job with 2,000 members, 10 changes/s, `--max-update-frequency=1`: CPU (mean
 *   and highest 1 s sample) and RSS (at rest, highest under churn). The shape that costs
 *   most per change: every update re-reads, re-builds and re-renders all 2,000 members.
 * - `start`: 250 jobs x 40 members (10,000 endpoints), start to first complete config.
 *
 * Members of jobs nobody dials point at ports nothing listens on.
 *
 * @module
 */

import { waitFor } from "../../testing/ports.ts";
import type { TestZooKeeper } from "../../testing/zookeeper.ts";
import { type ProcessSamples, rssMb, sampleProcess, wrk } from "../lib.ts";
import {
  type Aurproxy,
  backend,
  endpointsIn,
  jobPath,
  type Registry,
  registry,
  startAurproxy,
} from "./aurproxy.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates `n` persistent members of a job, `port(i)` each; returns their paths in order. */
async function createJob(reg: Registry, path: string, n: number, port: (i: number) => number) {
  await reg.prepare(path);
  const out: string[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = Array.from({ length: Math.min(200, n - i) }, (_, k) => i + k);
    out.push(...await Promise.all(batch.map((k) => reg.add(path, port(k), true))));
  }
  return out;
}

async function firstReload(ap: Aurproxy): Promise<Record<string, number>> {
  await waitFor(
    "first reload",
    async () => (await ap.metrics())["aurproxy.reloads"] >= 1,
    60_000,
  );
  return await ap.metrics();
}

/**
 * Samples `pid` while nothing changes, after a settling pause: right after start-up V8
 * still collects and shrinks its heap in the background for a few seconds (2-3 % of a
 * core), which is start-up, not rest.
 */
async function atRest(pid: number, seconds: number): Promise<ProcessSamples> {
  await sleep(5000);
  const s = sampleProcess(pid);
  await sleep(seconds * 1000);
  return s.stop();
}

/**
 * Changes at `perSecond` for `seconds`, on an absolute schedule (a slow call does not
 * lower the rate): change 2n removes member n and 2n+1 creates it again (same instance,
 * new znode). `at(n)` says which job and member change n+1 touches.
 */
async function churn(
  reg: Registry,
  members: string[][],
  at: (pair: number) => { job: number; member: number },
  recreate: (job: number, member: number) => Promise<string>,
  o: { perSecond: number; seconds: number; onChange?: (n: number) => Promise<void> },
): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  // Whole pairs: every member removed is back at the end.
  while (performance.now() - t0 < o.seconds * 1000 || n % 2 === 1) {
    const { job, member } = at(Math.floor(n / 2));
    if (n % 2 === 0) await reg.remove(members[job][member]);
    else members[job][member] = await recreate(job, member);
    n++;
    await o.onChange?.(n);
    await sleep(Math.max(0, t0 + (n * 1000) / o.perSecond - performance.now()));
  }
  return n;
}

/** The 50 x 40 case (see the module doc). */
export async function scale(
  zk: TestZooKeeper,
  churnSeconds: number,
  denoFlags: readonly string[] = [],
) {
  const JOBS = 50, MEMBERS = 40;
  const reg = await registry(zk);
  const live = Array.from({ length: MEMBERS }, (_, i) => backend(`job0-${i}`));
  // Job 0's members are live backends (wrk hits them); the others' ports are never dialled.
  const portOf = (j: number, i: number) => j === 0 ? live[i].port : 20000 + j * MEMBERS + i;
  const members: string[][] = [];
  for (let j = 0; j < JOBS; j++) {
    members.push(await createJob(reg, jobPath("bench", `job${j}`), MEMBERS, (i) => portOf(j, i)));
  }
  const routes = Array.from(
    { length: JOBS },
    (_, j) => ({ location: `/job${j}/`, role: "bench", job: `job${j}` }),
  );
  const ap = await startAurproxy(zk, routes, {
    flags: ["--max-update-frequency=1", "--weight-adjustment-delay-seconds=0"],
    denoFlags,
  });
  try {
    // `--setup` has exited: the config it wrote must already be complete.
    const written = await endpointsIn(ap.configFile);
    if (written !== JOBS * MEMBERS) {
      throw new Error(`--setup wrote ${written} endpoints, not ${JOBS * MEMBERS}`);
    }
    const m0 = await firstReload(ap);
    const rest = await atRest(ap.pid, 5);
    let fewest = JOBS * MEMBERS, most = JOBS * MEMBERS;
    const sampler = sampleProcess(ap.pid);
    const changing = churn(
      reg,
      members,
      (pair) => ({ job: pair % JOBS, member: Math.floor(pair / JOBS) % MEMBERS }),
      (j, i) => reg.add(jobPath("bench", `job${j}`), portOf(j, i), true),
      {
        perSecond: 10,
        seconds: churnSeconds,
        onChange: async (n) => {
          if (n % 50) return;
          const e = await endpointsIn(ap.configFile);
          fewest = Math.min(fewest, e);
          most = Math.max(most, e);
        },
      },
    );
    const load = await wrk(`http://127.0.0.1:${ap.proxyPort}/job0/`, {
      seconds: churnSeconds,
      connections: 16,
      close: true,
    });
    const changes = await changing;
    const under = sampler.stop();
    const m1 = await ap.metrics();
    // Once the last change has reached the config (min interval 1 s), count again.
    await sleep(2000);
    const end = await endpointsIn(ap.configFile);
    return {
      startToConfigMs: ap.setupMs,
      applyMs: (m0["aurproxy.last_apply_duration_seconds"] ?? NaN) * 1000,
      rest,
      under,
      changes,
      reloads: m1["aurproxy.reloads"] - m0["aurproxy.reloads"],
      requests: load.requests,
      failed: load.errors + load.non2xx,
      endpointsMin: Math.min(fewest, end),
      endpointsMax: Math.max(most, end),
    };
  } finally {
    await ap.stop();
    await reg.close();
    for (const b of live) await b.close();
  }
}

/** The single-job churn case (see the module doc). */
export async function jobChurn(
  zk: TestZooKeeper,
  o: { members: number; perSecond: number; seconds: number; denoFlags?: readonly string[] },
) {
  const reg = await registry(zk);
  const path = jobPath("churn", "big");
  const port = (i: number) => 30000 + i;
  const members = [await createJob(reg, path, o.members, port)];
  const ap = await startAurproxy(zk, [{ location: "/", role: "churn", job: "big" }], {
    flags: ["--max-update-frequency=1", "--weight-adjustment-delay-seconds=0"],
    denoFlags: o.denoFlags,
  });
  try {
    const written = await endpointsIn(ap.configFile);
    if (written !== o.members) throw new Error(`--setup wrote ${written}, not ${o.members}`);
    const m0 = await firstReload(ap);
    const rest = await atRest(ap.pid, 5);
    const sampler = sampleProcess(ap.pid);
    const heapMb: number[] = [];
    const changes = await churn(
      reg,
      members,
      (pair) => ({ job: 0, member: pair % o.members }),
      (_, i) => reg.add(path, port(i), true),
      {
        perSecond: o.perSecond,
        seconds: o.seconds,
        onChange: async (n) => {
          if (n % o.perSecond) return;
          heapMb.push((await ap.metrics())["aurproxy.process_heap_used_bytes"] / 1e6);
        },
      },
    );
    const under = sampler.stop();
    const m1 = await ap.metrics();
    await sleep(2000);
    return {
      rest,
      under,
      heapMb,
      changes,
      reloads: m1["aurproxy.reloads"] - m0["aurproxy.reloads"],
      rssAfterMb: rssMb(ap.pid),
      endpointsAfter: await endpointsIn(ap.configFile),
    };
  } finally {
    await ap.stop();
    await reg.close();
  }
}

/** The 10,000-endpoint start case (see the module doc). */
export async function start(
  zk: TestZooKeeper,
  o: { jobs: number; members: number; denoFlags?: readonly string[] },
) {
  const reg = await registry(zk);
  for (let j = 0; j < o.jobs; j++) {
    await createJob(reg, jobPath("start", `job${j}`), o.members, (i) => 40000 + i);
  }
  const routes = Array.from(
    { length: o.jobs },
    (_, j) => ({ location: `/job${j}/`, role: "start", job: `job${j}` }),
  );
  const ap = await startAurproxy(zk, routes, { denoFlags: o.denoFlags });
  try {
    const written = await endpointsIn(ap.configFile);
    if (written !== o.jobs * o.members) {
      throw new Error(`--setup wrote ${written} endpoints, not ${o.jobs * o.members}`);
    }
    const m0 = await firstReload(ap);
    return {
      startToConfigMs: ap.setupMs,
      endpoints: written,
      rssMb: rssMb(ap.pid),
      applyMs: (m0["aurproxy.last_apply_duration_seconds"] ?? NaN) * 1000,
    };
  } finally {
    await ap.stop();
    await reg.close();
  }
}
