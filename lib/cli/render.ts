/**
 * `aurproxy render` and `aurproxy validate`.
 *
 * @module
 */

import { loadConfig } from "../config/load.ts";
import type { ProxySnapshot, Upstream, WeightedEndpoint } from "../model/snapshot.ts";
import type { Logger } from "../log.ts";
import { consoleLogger } from "../log.ts";
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

const PLACEHOLDER: WeightedEndpoint = {
  host: "127.0.0.1",
  address: "127.0.0.1",
  port: 1,
  weight: 1000,
  fraction: 1,
  share: 1,
  pool: "primary",
  source: "validate",
  factors: [],
  audit: ["placeholder endpoint for nginx -t"],
};

/**
 * Every route and stream with one placeholder endpoint: upstream and stream directives
 * are rendered only for pools with endpoints, and `nginx -t` must see them all. It never
 * connects to the placeholder.
 */
function withPlaceholders(snap: ProxySnapshot): ProxySnapshot {
  const fill = <U extends Upstream>(u: U): U => ({ ...u, endpoints: [PLACEHOLDER] });
  return {
    ...snap,
    servers: snap.servers.map((s) => ({
      ...s,
      routes: s.routes.map(fill),
      streams: s.streams.map(fill),
    })),
  };
}

/**
 * Checks the JSON config; unless `--skip-nginx-test`, also renders it (without reading
 * any registry: every pool gets a placeholder endpoint) and runs `nginx -t` on the result.
 */
export async function runValidate(v: FlagValues): Promise<number> {
  const log = consoleLogger({ level: logLevel(v), component: "aurproxy" });
  const config = await loadConfig(requireString(v, "config"));
  const servers = config.servers.length;
  const routes = config.servers.reduce((n, s) => n + s.routes.length, 0);
  const streams = config.servers.reduce((n, s) => n + s.streams.length, 0);
  console.log(`config OK: ${servers} server(s), ${routes} route(s), ${streams} stream(s)`);
  if (v["skip-nginx-test"]) return 0;
  const graph = await buildGraph(config, graphOptions(v), log);
  try {
    const result = await graph.backend.validate(withPlaceholders(graph.app.buildSnapshot()));
    if (!result.ok) {
      console.error(`nginx -t rejected the rendered config:\n${result.error}`);
      return 1;
    }
    console.log("nginx -t: rendered config OK");
    return 0;
  } finally {
    await graph.close();
  }
}
