/**
 * The shared backend contract (`testing/contracts/backend_contract.ts`) against a real
 * HAProxy in master-worker mode.
 */
import { HaproxyBackend } from "../../lib/backends/haproxy/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { runBackendContract } from "../../testing/contracts/backend_contract.ts";
import { haproxyOptions, runHaproxy } from "../../testing/haproxy_rig.ts";

runBackendContract({
  name: "haproxy",
  newBackend: (dir) => {
    const options = haproxyOptions(dir);
    const backend = new HaproxyBackend(options, {
      logger: memoryLogger(),
      metrics: new MetricsRegistry("aurproxy"),
    });
    return {
      backend,
      readLiveConfig: () => Deno.readTextFile(options.configurationFile).catch(() => undefined),
      startProxy: (ports) => runHaproxy(options, ports),
    };
  },
  // Valid JSON and a valid aurproxy config, but a value only HAProxy can judge.
  invalidate: (s) => ({ ...s, context: { ...s.context, keepalive_timeout: "lots" } }),
});
