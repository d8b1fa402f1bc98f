/**
 * Throughput through the nginx config aurproxy generates, against the same backend hit
 * directly (the baseline), with wrk on loopback: keep-alive and new-connection-per-request.
 * The backend is itself an nginx answering a fixed 200, so the proxy, not the backend, is
 * what is measured.
 *
 *   deno task bench proxy     (or: deno run -A bench/proxy.ts [--seconds=10])
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startNginx } from "../testing/nginx.ts";
import { freePort } from "../testing/ports.ts";
import { snapshot } from "../testing/snapshots.ts";
import { renderNginx } from "../lib/backends/nginx/render.ts";
import { report, wrk } from "./lib.ts";
import { runNginx } from "../testing/nginx.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "8" } },
});
const seconds = Number(values.seconds);

/** A static nginx backend answering 200 "ok" on `ports`. */
async function staticBackend(ports: number[]) {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-backend-" });
  const conf = `${dir}/nginx.conf`;
  const servers = ports.map((p) =>
    `server { listen 127.0.0.1:${p}; location / { return 200 "ok"; } }`
  ).join("\n");
  const base = renderNginx(snapshot([]), { pidPath: `${dir}/nginx.pid`, privatePrefix: true });
  await Deno.writeTextFile(
    conf,
    `${base}\nhttp {\naccess_log off;\nkeepalive_requests 100000;\n${servers}\n}\n`,
  );
  const proc = await runNginx({
    configurationFile: conf,
    pidPath: `${dir}/nginx.pid`,
    binary: "nginx",
    prefix: dir,
  }, ports);
  return {
    stop: async () => {
      await proc.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const backendPorts = [freePort(), freePort()];
const backend = await staticBackend(backendPorts);
const port = freePort();
const proxy = await startNginx(
  snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: backendPorts }] }]),
  [port],
);
try {
  const direct = await wrk(`http://127.0.0.1:${backendPorts[0]}/`, { seconds });
  const proxied = await wrk(`http://127.0.0.1:${port}/`, { seconds });
  const directClose = await wrk(`http://127.0.0.1:${backendPorts[0]}/`, { seconds, close: true });
  const proxiedClose = await wrk(`http://127.0.0.1:${port}/`, { seconds, close: true });
  await report("proxy", [
    {
      metric: "requests/s keep-alive (through aurproxy's nginx vs direct)",
      value: proxied.rps,
      baseline: direct.rps,
      unit: "req/s",
    },
    {
      metric: "requests/s new connection per request",
      value: proxiedClose.rps,
      baseline: directClose.rps,
      unit: "req/s",
    },
    {
      metric: "failed requests (errors + non-2xx), all runs",
      value: proxied.errors + proxied.non2xx + proxiedClose.errors + proxiedClose.non2xx,
      target: "0",
    },
  ], { seconds, cores: navigator.hardwareConcurrency });
} finally {
  await proxy.stop();
  await backend.stop();
}
