/**
 * `aurproxy render` and `aurproxy validate`.
 *
 * @module
 */

import { loadConfig } from "../config/load.ts";
import type { Logger } from "../log.ts";
import { consoleLogger, type Level } from "../log.ts";
import type { FlagValues } from "./flags.ts";
import { numberFlag, requireString } from "./flags.ts";
import { buildGraph } from "./run.ts";

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

/**
 * Checks the JSON config; unless `--skip-nginx-test`, also renders it (without reading
 * any registry: routes have no endpoints) and runs `nginx -t` on the result.
 */
export async function runValidate(v: FlagValues): Promise<number> {
  const log = consoleLogger({ level: (v["log-level"] as Level) ?? "warn", component: "aurproxy" });
  const config = await loadConfig(requireString(v, "config"));
  const servers = config.servers.length;
  const routes = config.servers.reduce((n, s) => n + s.routes.length, 0);
  const streams = config.servers.reduce((n, s) => n + s.streams.length, 0);
  console.log(`config OK: ${servers} server(s), ${routes} route(s), ${streams} stream(s)`);
  if (v["skip-nginx-test"]) return 0;
  const graph = await buildGraph(config, graphOptions(v), log);
  try {
    const result = await graph.backend.test(graph.app.buildSnapshot());
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
