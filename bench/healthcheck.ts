/**
 * Health-check benchmark: 2,000 endpoints (real local listeners) checked every second.
 * Measures aurproxy's CPU and RSS while checking (baseline: the same 2,000 endpoints with
 * no health checks, in the same run), how evenly the checks are spread over the interval,
 * and how long a failing endpoint takes to leave the nginx config (target:
 * unhealthy_threshold x interval + 1 s).
 *
 *   deno run -A bench/healthcheck.ts [--endpoints=2000] [--seconds=15]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { httpGet } from "../tests/helpers/http.ts";
import { nginxKeys, startStack } from "../tests/helpers/aurproxy_stack.ts";
import { freePort, waitFor } from "../tests/helpers/ports.ts";
import { cpuSeconds, report, rssMb } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    endpoints: { type: "string", default: "2000" },
    seconds: { type: "string", default: "15" },
  },
});
const N = Number(values.endpoints);
const SECONDS = Number(values.seconds);
const INTERVAL = 1;
const UNHEALTHY = 2;

// The endpoints: one listener each, recording when health checks arrive.
const arrivals: number[] = [];
let recording = false;
const failing = new Set<number>();
const ac = new AbortController();
const ports: number[] = [];
const servers = Array.from({ length: N }, () => {
  const port = freePort();
  ports.push(port);
  return Deno.serve({ hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} }, () => {
    if (recording) arrivals.push(performance.now());
    return new Response(failing.has(port) ? "down" : "ok", {
      status: failing.has(port) ? 500 : 200,
    });
  });
});

interface Running {
  pid: number;
  dir: string;
  mgmt: number;
  stop(): Promise<void>;
}

async function startAurproxy(withHealth: boolean): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-hc-" });
  const proxyPort = freePort();
  const health = [{
    share_adjuster_class: "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster",
    route: "/health",
    interval: INTERVAL,
    timeout: 0.5,
    unhealthy_threshold: UNHEALTHY,
    healthy_threshold: 1,
  }];
  const stack = await startStack({
    dir,
    proxyPorts: [proxyPort],
    flags: ["--log-level=warn", "--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
    config: {
      backend: "nginx",
      ...nginxKeys(dir),
      servers: [{
        ports: [proxyPort],
        routes: [{
          locations: ["/"],
          sources: ports.map((port, i) => ({
            source_class: "static",
            name: `e${i}`,
            host: "127.0.0.1",
            port,
            share_adjusters: withHealth ? health : [],
          })),
        }],
      }],
    },
  });
  return {
    pid: stack.pid,
    dir,
    mgmt: stack.mgmtPort,
    stop: async () => {
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function liveEndpoints(mgmt: number): Promise<number> {
  const m = JSON.parse((await httpGet(mgmt, "/metrics.json")).body) as Record<string, number>;
  return Object.entries(m).filter(([k]) => k.startsWith("aurproxy_endpoints_live{pool=primary"))
    .reduce((a, [, v]) => a + v, 0);
}

async function steadyState(r: Running): Promise<{ cpuPct: number; rssMb: number }> {
  const c0 = cpuSeconds(r.pid);
  const t0 = performance.now();
  await new Promise((res) => setTimeout(res, SECONDS * 1000));
  return {
    cpuPct: ((cpuSeconds(r.pid) - c0) / ((performance.now() - t0) / 1000)) * 100,
    rssMb: rssMb(r.pid),
  };
}

try {
  console.error(`baseline: ${N} endpoints, no health checks`);
  const base = await startAurproxy(false);
  let baseline;
  try {
    await waitFor(
      "all endpoints live",
      async () => (await liveEndpoints(base.mgmt)) === N,
      60_000,
      100,
    );
    baseline = await steadyState(base);
  } finally {
    await base.stop();
  }

  console.error(`${N} endpoints checked every ${INTERVAL} s`);
  const r = await startAurproxy(true);
  try {
    await waitFor(
      "all endpoints healthy",
      async () => (await liveEndpoints(r.mgmt)) === N,
      60_000,
      100,
    );
    recording = true;
    const checking = await steadyState(r);
    recording = false;

    // Spread: checks per 100 ms slot over the recorded window, against a perfectly even spread.
    // (Arrivals are stamped by this process's listeners, which batch ready connections, so
    // finer slots measure our own event loop more than aurproxy's scheduling.)
    const t0 = arrivals[0];
    const slots = new Map<number, number>();
    for (const a of arrivals) {
      slots.set(Math.floor((a - t0) / 100), (slots.get(Math.floor((a - t0) / 100)) ?? 0) + 1);
    }
    const checksPerSecond = arrivals.length / ((arrivals.at(-1)! - t0) / 1000);
    const evenPerSlot = checksPerSecond / 10;
    const maxPerSlot = Math.max(...slots.values());

    // A failing endpoint: time until its server line is no longer live in nginx.conf.
    const victim = ports[Math.floor(N / 2)];
    const conf = `${r.dir}/conf/nginx.conf`;
    const live = (text: string) => text.includes(`server 127.0.0.1:${victim} weight=`);
    const tFail = performance.now();
    failing.add(victim);
    await waitFor(
      "failing endpoint out of nginx.conf",
      async () => !live(await Deno.readTextFile(conf)),
      30_000,
      10,
    );
    const leaveMs = performance.now() - tFail;

    await report("healthcheck", [
      {
        metric: `aurproxy CPU, ${N} endpoints checked every ${INTERVAL} s (baseline: no checks)`,
        value: checking.cpuPct,
        baseline: baseline.cpuPct,
        unit: "% of a core",
        target: "<= 25",
      },
      {
        metric: "aurproxy RSS (baseline: no checks)",
        value: checking.rssMb,
        baseline: baseline.rssMb,
        unit: "MB",
      },
      {
        metric: "checks per second",
        value: checksPerSecond,
        baseline: N / INTERVAL,
        target: `${N / INTERVAL}`,
      },
      {
        metric: "most checks arriving in one 100 ms slot (baseline: perfectly even)",
        value: maxPerSlot,
        baseline: evenPerSlot,
      },
      {
        metric: "failing endpoint out of nginx.conf",
        value: leaveMs,
        baseline: UNHEALTHY * INTERVAL * 1000,
        unit: "ms",
        target: `<= ${(UNHEALTHY * INTERVAL + 1) * 1000} ms`,
      },
    ], { endpoints: N, intervalSeconds: INTERVAL, windowSeconds: SECONDS });
  } finally {
    await r.stop();
  }
} finally {
  ac.abort();
  await Promise.all(servers.map((s) => s.finished));
}
