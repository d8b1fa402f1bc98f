/**
 * Health-check benchmark: 2,000 endpoints (real local listeners) checked every second.
 * Measures aurproxy's CPU and RSS while checking (baseline: the same 2,000 endpoints with
 * no health checks, in the same run), how evenly the checks are spread over the interval,
 * how many connections the checks open (kept-alive, a new one every REDIAL_EVERY checks
 * per endpoint: N / REDIAL_EVERY a second, against N with a connection per check), and
 * how long failing endpoints take to leave the nginx config (target:
 * unhealthy_threshold x interval + 1 s): 20 endpoints start failing one after the other,
 * at different phases of their check cycle, and the median and the worst are reported.
 * The settings that differ from aurproxy's defaults are printed with the results.
 *
 *   deno run -A bench/healthcheck.ts [--endpoints=2000] [--seconds=15] [--failing=20]
 *     [--interval=1]
 *
 * `--seconds` is rounded up to whole redial cycles (REDIAL_EVERY x interval: 20 s by
 * default), so the window holds the average share of new connections.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { httpGet } from "../testing/http.ts";
import { nginxKeys, startStack } from "../testing/aurproxy_stack.ts";
import { freePort, waitFor } from "../testing/ports.ts";
import { REDIAL_EVERY } from "../lib/share/health/probe.ts";
import { cpuSeconds, percentile, report, rssMb } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    endpoints: { type: "string", default: "2000" },
    seconds: { type: "string", default: "15" },
    interval: { type: "string", default: "1" },
    failing: { type: "string", default: "20" },
  },
});
const N = Number(values.endpoints);
const INTERVAL = Number(values.interval);
// Whole redial cycles: every endpoint's connection is renewed once per REDIAL_EVERY checks,
// all in the same interval when they started together, so a window of any other length
// would count one renewal round more or less than the average.
const CYCLE = REDIAL_EVERY * INTERVAL;
const SECONDS = Math.max(1, Math.ceil(Number(values.seconds) / CYCLE)) * CYCLE;
const FAILING = Math.min(N, Number(values.failing));
const TIMEOUT = 0.5;
const UNHEALTHY = 2;
const HEALTHY = 1;
const MAX_UPDATE_FREQUENCY = 0;
const ADJUSTMENT_DELAY = 0;

/** What this run sets differently from aurproxy's defaults (and those defaults). */
const settings = {
  "--max-update-frequency": { value: MAX_UPDATE_FREQUENCY, default: 10 },
  "--weight-adjustment-delay-seconds": { value: ADJUSTMENT_DELAY, default: 180 },
  interval: { value: INTERVAL, default: 3 },
  timeout: { value: TIMEOUT, default: 2 },
  unhealthy_threshold: { value: UNHEALTHY, default: 2 },
  healthy_threshold: { value: HEALTHY, default: 2 },
};

// The endpoints: one listener each, recording when health checks arrive and the
// connections first seen while recording (a connection is its endpoint and client port:
// the ephemeral range does not wrap within a run).
const arrivals: number[] = [];
const seen = new Set<string>();
let newConnections = 0;
let recording = false;
const failing = new Set<number>();
const ac = new AbortController();
const ports: number[] = [];
const servers = Array.from({ length: N }, () => {
  const port = freePort();
  ports.push(port);
  const listen = { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} };
  return Deno.serve(listen, (_req, info) => {
    const conn = `${port} ${info.remoteAddr.port}`;
    if (!seen.has(conn)) {
      seen.add(conn);
      if (recording) newConnections++;
    }
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
    timeout: TIMEOUT,
    unhealthy_threshold: UNHEALTHY,
    healthy_threshold: HEALTHY,
  }];
  const stack = await startStack({
    dir,
    proxyPorts: [proxyPort],
    flags: [
      "--log-level=warn",
      `--max-update-frequency=${MAX_UPDATE_FREQUENCY}`,
      `--weight-adjustment-delay-seconds=${ADJUSTMENT_DELAY}`,
    ],
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
  return Object.entries(m).filter(([k]) => k.startsWith("aurproxy.endpoints_live.pool.primary."))
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
    const windowSeconds = (arrivals.at(-1)! - t0) / 1000;
    const checksPerSecond = arrivals.length / windowSeconds;
    const connectionsPerSecond = newConnections / windowSeconds;
    const evenPerSlot = checksPerSecond / 10;
    const maxPerSlot = Math.max(...slots.values());

    // Failing endpoints: time from the failure until each one's server line is no longer
    // live in nginx.conf. They fail one after the other, INTERVAL / FAILING apart, so the
    // failures fall at different phases of their check cycles.
    const victims = Array.from(
      { length: FAILING },
      (_, i) => ports[Math.floor((i + 0.5) * N / FAILING)],
    );
    const conf = `${r.dir}/conf/nginx.conf`;
    const failedAt = new Map<number, number>();
    const leaveMs = new Map<number, number>();
    const staggered = (async () => {
      for (const port of victims) {
        failedAt.set(port, performance.now());
        failing.add(port);
        await new Promise((res) => setTimeout(res, (INTERVAL * 1000) / FAILING));
      }
    })();
    await waitFor(
      "failing endpoints out of nginx.conf",
      async () => {
        const text = await Deno.readTextFile(conf);
        const now = performance.now();
        for (const [port, at] of failedAt) {
          if (!leaveMs.has(port) && !text.includes(`server 127.0.0.1:${port} weight=`)) {
            leaveMs.set(port, now - at);
          }
        }
        return leaveMs.size === FAILING;
      },
      60_000,
      10,
    );
    await staggered;
    const leave = [...leaveMs.values()];
    const targetMs = (UNHEALTHY * INTERVAL + 1) * 1000;

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
        metric:
          `new connections per second, one per ${REDIAL_EVERY} checks (baseline: one per check)`,
        value: connectionsPerSecond,
        baseline: checksPerSecond,
        target: `~${N / INTERVAL / REDIAL_EVERY}`,
      },
      {
        metric: "most checks arriving in one 100 ms slot (baseline: perfectly even)",
        value: maxPerSlot,
        baseline: evenPerSlot,
      },
      {
        metric: `failing endpoint out of nginx.conf, median of ${FAILING}`,
        value: percentile(leave, 50),
        baseline: UNHEALTHY * INTERVAL * 1000,
        unit: "ms",
        target: `<= ${targetMs} ms`,
      },
      {
        metric: `failing endpoint out of nginx.conf, worst of ${FAILING}`,
        value: Math.max(...leave),
        baseline: UNHEALTHY * INTERVAL * 1000,
        unit: "ms",
        target: `<= ${targetMs} ms`,
      },
      ...Object.entries(settings).map(([name, s]) => ({
        metric: `setting ${name} (default ${s.default})`,
        value: String(s.value),
      })),
    ], {
      endpoints: N,
      intervalSeconds: INTERVAL,
      windowSeconds: SECONDS,
      settings: Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.value])),
      defaults: Object.fromEntries(Object.entries(settings).map(([k, s]) => [k, s.default])),
      failing: FAILING,
      leaveMs: leave,
    });
  } finally {
    await r.stop();
  }
} finally {
  ac.abort();
  await Promise.all(servers.map((s) => s.finished));
}
