/**
 * nginx's own part of discovery-to-traffic: from the SIGHUP to the first request answered
 * by the new config (and to the last one answered by the old), for the generated config
 * and for variants of its accept settings, with the original's (`multi_accept on`) as the
 * baseline measured in the same run. No aurproxy process: the config is rendered by
 * aurproxy's renderer, written, and nginx is signalled directly, so only nginx is timed.
 *
 * Each trial swaps the one upstream server between two backends (A, B), sends SIGHUP and
 * polls through nginx one request at a time, a new connection each, for `--window-ms`.
 * Every request must be answered 200 by A or B. Two clients, because how busy the old
 * workers are decides who accepts: `busy` sends the next request as soon as the last is
 * answered (thousands a second: the old workers are often busy, so new ones get some
 * connections early), `paced` waits 1 ms between requests (old workers idle: on Linux
 * nginx's exclusive epoll wake-ups go to the workers that waited longest, the old ones).
 *
 *   deno run -A bench/reload.ts [--trials=10] [--window-ms=400] [--only=defaults,original]
 *     [--clients=busy,paced]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { renderNginx } from "../lib/backends/nginx/render.ts";
import { accepting, childPids, childrenOf, readProc } from "../lib/backends/nginx/process.ts";

/** The pids of the master's workers that accept (not those shutting down). */
function activeWorkers(master: number): Set<number> {
  const proc = readProc(master);
  return new Set(proc ? childrenOf(proc).filter(accepting).map((c) => c.pid) : []);
}
import type { Context } from "../lib/model/config.ts";
import { httpGet } from "../testing/http.ts";
import { startNginx } from "../testing/nginx.ts";
import { freePort } from "../testing/ports.ts";
import { snapshot } from "../testing/snapshots.ts";
import { percentile, report, type Row } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    trials: { type: "string", default: "10" },
    "window-ms": { type: "string", default: "400" },
    only: { type: "string", default: "" },
    clients: { type: "string", default: "busy,paced" },
  },
});
const trials = Number(values.trials);
const windowMs = Number(values["window-ms"]);
const CLIENTS: Record<string, number> = { busy: 0, paced: 1 };
const clients = values.clients.split(",");
for (const c of clients) {
  if (!(c in CLIENTS)) {
    console.error(`--clients: unknown ${c}; known: ${Object.keys(CLIENTS).join(", ")}`);
    Deno.exit(2);
  }
}

interface Variant {
  readonly name: string;
  readonly context: Context;
  /**
   * Tell the old workers to stop accepting (SIGQUIT, what nginx's master sends them 100 ms
   * later) as soon as the new workers run: what a backend could do after its SIGHUP.
   */
  readonly retireAtOnce?: boolean;
}

/** The original's accept settings; every other variant is measured against them. */
const ORIGINAL: Context = { multi_accept: "on", reuseport: false };

const VARIANTS: readonly Variant[] = [
  { name: "original", context: ORIGINAL },
  { name: "defaults", context: {} },
  { name: "multi_accept off", context: { reuseport: false } },
  { name: "reuseport + multi_accept on", context: { multi_accept: "on" } },
  { name: "accept_mutex on", context: { accept_mutex: "on", reuseport: false } },
  { name: "one worker", context: { worker_processes: 1, reuseport: false } },
  { name: "defaults + retire", context: {}, retireAtOnce: true },
  { name: "multi_accept off + retire", context: { reuseport: false }, retireAtOnce: true },
  { name: "original + retire", context: ORIGINAL, retireAtOnce: true },
];

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

async function retireOld(master: number, before: ReadonlySet<number>, workers: number) {
  const deadline = performance.now() + 2000;
  while (performance.now() < deadline) {
    const fresh = [...activeWorkers(master)].filter((p) => !before.has(p));
    if (fresh.length >= workers) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  for (const p of before) {
    try {
      Deno.kill(p, "SIGQUIT");
    } catch {
      // Exited already.
    }
  }
}

async function measure(
  v: Variant,
  client: string,
  a: ReturnType<typeof backend>,
  b: ReturnType<typeof backend>,
) {
  const pauseMs = CLIENTS[client];
  const port = freePort();
  const context: Context = { worker_connections: 8192, ...v.context };
  const snap = (to: number) =>
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [to] }] }], context);
  const nginx = await startNginx(snap(a.port), [port]);
  const render = (to: number) =>
    renderNginx(snap(to), { pidPath: nginx.options.pidPath, privatePrefix: true });
  const workers = activeWorkers(nginx.pid).size;
  const firsts: number[] = [];
  const lasts: number[] = [];
  let requests = 0, failed = 0;
  try {
    await new Promise((r) => setTimeout(r, 200));
    let current = a;
    for (let k = 0; k < trials; k++) {
      const next = current === a ? b : a;
      await Deno.writeTextFile(nginx.options.configurationFile, render(next.port));
      const before = childPids(nginx.pid);
      const t0 = performance.now();
      Deno.kill(nginx.pid, "SIGHUP");
      const retiring = v.retireAtOnce ? retireOld(nginx.pid, before, workers) : undefined;
      let first = NaN, last = 0;
      while (performance.now() - t0 < windowMs) {
        let who = "";
        try {
          const r = await httpGet(port, "/", { timeoutMs: 2000 });
          if (r.status === 200) who = r.body;
        } catch {
          // Counted below.
        }
        requests++;
        const at = performance.now() - t0;
        if (who === next.name && Number.isNaN(first)) first = at;
        else if (who === current.name) last = at;
        else if (who !== next.name) failed++;
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
      await retiring;
      firsts.push(first);
      lasts.push(last);
      current = next;
      // Let the old workers exit before the next trial.
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    await nginx.stop();
  }
  console.error(
    `  ${client} client, ${v.name}: first new p50 ${
      percentile(firsts, 50).toFixed(1)
    } ms, last old p50 ${percentile(lasts, 50).toFixed(1)} ms, ${failed}/${requests} failed`,
  );
  return { name: v.name, client, context: v.context, workers, firsts, lasts, requests, failed };
}

const wanted = values.only ? values.only.split(",") : VARIANTS.map((v) => v.name);
const a = backend("A"), b = backend("B");
const results: Awaited<ReturnType<typeof measure>>[] = [];
try {
  for (const client of clients) {
    for (const v of VARIANTS.filter((v) => wanted.includes(v.name) || v.name === "original")) {
      results.push(await measure(v, client, a, b));
    }
  }
} finally {
  await a.close();
  await b.close();
}
const rows: Row[] = [];
for (const r of results) {
  const original = results.find((o) => o.name === "original" && o.client === r.client)!;
  rows.push({
    metric: `${r.client} client, ${r.name}: SIGHUP -> first answer from the new config, p50`,
    value: percentile(r.firsts, 50),
    baseline: r === original ? undefined : percentile(original.firsts, 50),
    unit: "ms",
  }, {
    metric: `${r.client} client, ${r.name}: ... p95 / SIGHUP -> last answer from the old, p50`,
    value: `${percentile(r.firsts, 95).toFixed(1)} / ${percentile(r.lasts, 50).toFixed(1)}`,
    unit: "ms",
  });
}
rows.push({
  metric: "failed requests (new connection each), all variants",
  value: results.reduce((n, r) => n + r.failed, 0),
  target: "0",
});
rows.push({
  metric: "requests sent, all variants",
  value: results.reduce((n, r) => n + r.requests, 0),
});
await report("reload", rows, {
  trials,
  windowMs,
  cores: navigator.hardwareConcurrency,
  variants: results,
});
