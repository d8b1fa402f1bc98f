/**
 * Throughput through the nginx config aurproxy generates, against a hand-tuned nginx
 * config proxying to the same backends (the baseline), with wrk on loopback: keep-alive
 * and a new connection per request. Variants of the generated config (the original's
 * `multi_accept on` without `reuseport`, and the two settings apart) run in the same rounds, so a default chosen for reload
 * latency (bench/reload) can be seen not to cost throughput. The backend itself is an
 * nginx answering a fixed 200, so the proxy, not the backend, is what is measured.
 *
 * Rates on a shared 2-core machine swing between runs, so every config is measured once
 * per round, rounds interleaved, and the median is reported; nginx's CPU time per request
 * (its workers' user + system time over the requests served) is steadier than the rate.
 *
 *   deno task bench proxy     (or: deno run -A bench/proxy.ts [--seconds=5] [--rounds=2])
 *
 * @module
 */

import { parseArgs } from "node:util";
import { childPids } from "../lib/backends/nginx/process.ts";
import type { Context } from "../lib/model/config.ts";
import { runNginx, startNginx } from "../testing/nginx.ts";
import { freePort } from "../testing/ports.ts";
import { snapshot } from "../testing/snapshots.ts";
import { cpuSeconds, percentile, report, type Row, wrk } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);

/** nginx on a hand-written config (`PREFIX` is replaced by its private prefix dir). */
async function rawNginx(text: string, ports: number[]) {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-nginx-" });
  await Deno.mkdir(`${dir}/temp`);
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(conf, text.replaceAll("PREFIX", dir));
  const proc = await runNginx(
    { configurationFile: conf, pidPath: `${dir}/nginx.pid`, binary: "nginx", prefix: dir },
    ports,
  );
  return {
    pid: proc.pid,
    stop: async () => {
      await proc.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const TEMP = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
  .map((t) => `${t}_temp_path PREFIX/temp/${t};`).join(" ");

/** The backends: one nginx answering 200 "ok" on each port. */
function backendConfig(ports: number[]): string {
  const servers = ports.map((p) =>
    `server { listen 127.0.0.1:${p}; location / { return 200 "ok"; } }`
  ).join("\n");
  return `worker_processes auto;\npid PREFIX/nginx.pid;\nerror_log stderr error;
events { worker_connections 8192; }
http { ${TEMP} access_log off; keepalive_requests 100000;\n${servers}\n}\n`;
}

/**
 * What one would write by hand to proxy these backends as fast as nginx can: defaults for
 * accepting (no multi_accept, no accept_mutex), a socket per worker, kept-alive upstream
 * connections, no headers or retries beyond what HTTP/1.1 keep-alive needs.
 */
function handTunedConfig(port: number, backends: number[]): string {
  return `worker_processes auto;\npid PREFIX/nginx.pid;\nerror_log stderr error;
events { worker_connections 8192; }
http {
    ${TEMP}
    access_log off;
    keepalive_requests 100000;
    upstream backends {
${backends.map((p) => `        server 127.0.0.1:${p};`).join("\n")}
        keepalive 64;
    }
    server {
        listen ${port} reuseport;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
`;
}

interface Target {
  readonly name: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Generated configs: aurproxy's defaults and the variants, by context. */
const DEFAULTS = "generated (defaults)";
const ORIGINAL = "generated, multi_accept on (the original's)";
const GENERATED: readonly { name: string; context: Context }[] = [
  { name: DEFAULTS, context: {} },
  { name: ORIGINAL, context: { multi_accept: "on", reuseport: false } },
  { name: "generated, multi_accept off, no reuseport", context: { reuseport: false } },
  { name: "generated, reuseport + multi_accept on", context: { multi_accept: "on" } },
];

/** CPU seconds of nginx's workers (the master does not serve requests). */
function workerCpu(master: number): number {
  return [...childPids(master)].reduce((s, p) => s + cpuSeconds(p), 0);
}

const backendPorts = [freePort(), freePort()];
const backend = await rawNginx(backendConfig(backendPorts), backendPorts);
const targets: Target[] = [];
try {
  const tunedPort = freePort();
  const tuned = await rawNginx(handTunedConfig(tunedPort, backendPorts), [tunedPort]);
  targets.push({ name: "hand-tuned", port: tunedPort, ...tuned });
  for (const g of GENERATED) {
    const port = freePort();
    const n = await startNginx(
      snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: backendPorts }] }], {
        worker_connections: 8192,
        ...g.context,
      }),
      [port],
    );
    targets.push({ name: g.name, port, pid: n.pid, stop: n.stop });
  }
  targets.push({
    name: "direct (no proxy)",
    port: backendPorts[0],
    pid: backend.pid,
    stop: () => Promise.resolve(),
  });

  type Runs = { rps: number[]; cpuUsPerReq: number[]; failed: number };
  const runs = new Map<string, { keepAlive: Runs; close: Runs }>();
  for (const t of targets) {
    const empty = (): Runs => ({ rps: [], cpuUsPerReq: [], failed: 0 });
    runs.set(t.name, { keepAlive: empty(), close: empty() });
  }
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      for (const mode of ["keepAlive", "close"] as const) {
        const cpu0 = workerCpu(t.pid);
        const w = await wrk(`http://127.0.0.1:${t.port}/`, { seconds, close: mode === "close" });
        const cpu = workerCpu(t.pid) - cpu0;
        const m = runs.get(t.name)![mode];
        m.rps.push(w.rps);
        m.cpuUsPerReq.push(w.requests ? (cpu / w.requests) * 1e6 : NaN);
        m.failed += w.errors + w.non2xx;
        console.error(
          `  round ${r + 1}: ${t.name}, ${mode}: ${w.rps.toFixed(0)} req/s, ${
            m.cpuUsPerReq.at(-1)!.toFixed(1)
          } us CPU/request`,
        );
      }
    }
  }
  const med = (xs: number[]) => percentile(xs, 50);
  /** Median over rounds of a's rate over b's in the same round: steadier than the rates. */
  const ratio = (a: number[], b: number[]) => med(a.map((x, i) => x / b[i]));
  const base = runs.get("hand-tuned")!;
  const original = runs.get(ORIGINAL)!;
  const rows: Row[] = [];
  for (const t of targets.filter((t) => t.name !== "hand-tuned")) {
    const m = runs.get(t.name)!;
    rows.push(
      {
        metric: `${t.name}: keep-alive req/s (median of ${rounds})`,
        value: Math.round(med(m.keepAlive.rps)),
        baseline: Math.round(med(base.keepAlive.rps)),
        unit: "req/s",
      },
      {
        metric: `${t.name}: new connection per request req/s`,
        value: Math.round(med(m.close.rps)),
        baseline: Math.round(med(base.close.rps)),
        unit: "req/s",
      },
      {
        metric: `${t.name}: per-round ratio to hand-tuned, keep-alive / new connection`,
        value: `${ratio(m.keepAlive.rps, base.keepAlive.rps).toFixed(2)} / ${
          ratio(m.close.rps, base.close.rps).toFixed(2)
        }`,
      },
      {
        metric: `${t.name}: nginx CPU per request, keep-alive / new connection`,
        value: `${med(m.keepAlive.cpuUsPerReq).toFixed(1)} / ${
          med(m.close.cpuUsPerReq).toFixed(1)
        }`,
        unit: "us",
        target: `hand-tuned ${med(base.keepAlive.cpuUsPerReq).toFixed(1)} / ${
          med(base.close.cpuUsPerReq).toFixed(1)
        }`,
      },
    );
  }
  const defaults = runs.get(DEFAULTS)!;
  rows.push({
    metric: "defaults vs the original's: per-round ratio, keep-alive / new connection",
    value: `${ratio(defaults.keepAlive.rps, original.keepAlive.rps).toFixed(2)} / ${
      ratio(defaults.close.rps, original.close.rps).toFixed(2)
    }`,
    target: "no loss (>= ~0.95, the noise)",
  });
  rows.push({
    metric: "failed requests (errors + non-2xx), all runs",
    value: [...runs.values()].reduce((n, m) => n + m.keepAlive.failed + m.close.failed, 0),
    target: "0",
  });
  await report("proxy", rows, {
    seconds,
    rounds,
    cores: navigator.hardwareConcurrency,
    runs: Object.fromEntries(runs),
  });
} finally {
  for (const t of targets) await t.stop();
  await backend.stop();
}
