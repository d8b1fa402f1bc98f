/**
 * `aurproxy render` and `aurproxy validate`.
 *
 * @module
 */

import { createBackend } from "../backends/table.ts";
import { BUILTIN_KINDS, loadConfig } from "../kinds.ts";
import type { Logger } from "../log.ts";
import { consoleLogger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import type { ProxyConfig } from "../model/config.ts";
import type { PoolMember } from "../model/pool_member.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";
import { buildSnapshot } from "../pipeline/snapshot_builder.ts";
import type { FlagValues } from "./flags.ts";
import { numberFlag, requireString } from "./flags.ts";
import { buildGraph, logLevel } from "./run.ts";

function graphOptions(v: FlagValues) {
  return {
    updatePeriodSeconds: 2,
    minIntervalSeconds: 0,
    weightAdjustmentDelaySeconds: 0,
    stateFile: typeof v["state-file"] === "string" ? v["state-file"] : undefined,
    stateMaxAgeSeconds: numberFlag(v, "state-max-age-seconds", { min: 0, fractional: true }),
    zkSessionTimeoutSeconds: numberFlag(v, "zk-session-timeout-seconds", {
      min: 0.1,
      fractional: true,
    }),
  };
}

/** Prints the nginx config for the current endpoints (sources read once, no adjustment). */
export async function runRender(v: FlagValues, log: Logger): Promise<number> {
  const config = await loadConfig(requireString(v, "config"));
  const graph = await buildGraph(config, graphOptions(v), log);
  try {
    const snap = await graph.app.snapshotOnce();
    console.log(graph.backend.render(snap));
    return 0;
  } finally {
    await graph.close();
  }
}

/** One endpoint in every pool: `nginx -t` must see every upstream, and never connects. */
const PLACEHOLDER: PoolMember = {
  endpoint: { host: "127.0.0.1", port: 1, ports: { default: 1 } },
  source: "placeholder endpoint for nginx -t",
  factors: [],
};

/**
 * The config's snapshot with a placeholder endpoint in every pool: upstream and stream
 * directives are rendered only for pools with endpoints. No registry is read.
 */
function placeholderSnapshot(config: ProxyConfig): ProxySnapshot {
  const members = { primary: [PLACEHOLDER], overflow: [] };
  return buildSnapshot(config, () => members, { adjust: false, now: Date.now() });
}

/**
 * The backend's own check of a rendered config. `ProxyBackend` is gaining `validate`
 * (issue 7, in parallel); until it has it, nginx's `test` is that check.
 */
/**
 * Checks the JSON config; unless `--skip-nginx-test`, also renders it (without reading
 * any registry: every pool gets a placeholder endpoint) and runs `nginx -t` on the result.
 */
export async function runValidate(v: FlagValues, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: logLevel(v), component: "aurproxy" });
  const config = await loadConfig(requireString(v, "config"));
  const servers = config.servers.length;
  const routes = config.servers.reduce((n, s) => n + s.routes.length, 0);
  const streams = config.servers.reduce((n, s) => n + s.streams.length, 0);
  console.log(`config OK: ${servers} server(s), ${routes} route(s), ${streams} stream(s)`);
  if (v["skip-nginx-test"]) return 0;
  const backend = createBackend(BUILTIN_KINDS.backends, config, {
    logger: log.child(config.backend),
    metrics: new MetricsRegistry("aurproxy"),
  });
  const result = await backend.validate(placeholderSnapshot(config));
  if (!result.ok) {
    console.error(`nginx -t rejected the rendered config:\n${result.error}`);
    return 1;
  }
  console.log("nginx -t: rendered config OK");
  return 0;
}
