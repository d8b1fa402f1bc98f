/**
 * The shared backend contract (`testing/contracts/backend_contract.ts`) against a real
 * nginx, plus what only nginx's implementation promises.
 */
import { strictEqual } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { runBackendContract } from "../../testing/contracts/backend_contract.ts";
import { nginxOptions, runNginx, startNginx } from "../../testing/nginx.ts";
import { freePort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

runBackendContract({
  name: "nginx",
  newBackend: (dir) => {
    const options = nginxOptions(dir);
    const backend = new NginxBackend(options, {
      logger: memoryLogger(),
      metrics: new MetricsRegistry("aurproxy"),
    });
    return {
      backend,
      readLiveConfig: () => Deno.readTextFile(options.configurationFile).catch(() => undefined),
      startProxy: (ports) => runNginx(options, ports),
    };
  },
  // Valid JSON and a valid aurproxy config, but a value only nginx can judge.
  invalidate: (s) => ({ ...s, context: { ...s.context, worker_connections: "lots" } }),
});

/** Counts renders: the config text is built once per apply, however it ends. */
class CountingNginx extends NginxBackend {
  renders = 0;
  override render(snapshot: ProxySnapshot): string {
    this.renders++;
    return super.render(snapshot);
  }
}

Deno.test("nginx: an apply renders the snapshot once, whether it reloads, finds it unchanged or is rejected", async () => {
  const port = freePort();
  const first = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [1] }] }]);
  const nginx = await startNginx(first, [port]);
  try {
    const backend = new CountingNginx(nginx.options, {
      logger: memoryLogger(),
      metrics: new MetricsRegistry("aurproxy"),
    });
    const next = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [2] }] }]);
    strictEqual((await backend.apply(next, { reload: true })).kind, "applied");
    strictEqual(backend.renders, 1);
    strictEqual((await backend.apply(next, { reload: true })).kind, "unchanged");
    strictEqual(backend.renders, 2);
    const bad = { ...next, context: { worker_connections: "lots" } };
    strictEqual((await backend.apply(bad, { reload: true })).kind, "invalid");
    strictEqual(backend.renders, 3);
  } finally {
    await nginx.stop();
  }
});
