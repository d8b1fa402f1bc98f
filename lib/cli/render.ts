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
import { EXIT_USAGE, type UsageError } from "../errors.ts";
import { backendFlag, configOptions, logWarning } from "./config_flags.ts";
import type { FlagValues } from "./flags.ts";
import { numberFlag, requireString } from "./flags.ts";
import { placeholderSnapshot } from "./placeholder.ts";
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

/** `--backend` and `--strict` as the options of `loadConfig`. */
function parseOptions(v: FlagValues, warn: (w: UsageError) => void) {
  return configOptions({ backend: backendFlag(v), strict: v.strict === true }, warn);
}

/** Prints the nginx config for the current endpoints (sources read once, no adjustment). */
export async function runRender(v: FlagValues, log: Logger): Promise<number> {
  const config = await loadConfig(requireString(v, "config"), parseOptions(v, logWarning(log)));
  const graph = await buildGraph(config, graphOptions(v), log);
  try {
    const snap = await graph.app.snapshotOnce();
    console.log(graph.backend.render(snap));
    return 0;
  } finally {
    await graph.close();
  }
}

/** How each backend's own check of a config is called, for validate's messages. */
const PROXY_CHECKS: Readonly<Record<string, string>> = { nginx: "nginx -t", haproxy: "haproxy -c" };

/**
 * Checks the JSON config; unless `--skip-nginx-test`, also renders it (without reading
 * any registry: every pool gets a placeholder endpoint) and runs `nginx -t` on the result.
 * Keys the original ignored are printed as warnings (errors with `--strict`). Exit 0 when
 * valid, 2 for a config error, `nginx -t`'s included.
 */
export async function runValidate(v: FlagValues, logger?: Logger): Promise<number> {
  const log = logger ?? consoleLogger({ level: logLevel(v), component: "aurproxy" });
  const warnings: UsageError[] = [];
  const config = await loadConfig(
    requireString(v, "config"),
    parseOptions(v, (w) => warnings.push(w)),
  );
  for (const w of warnings) console.error(`aurproxy validate: warning: ${w.message}`);
  const servers = config.servers.length;
  const routes = config.servers.reduce((n, s) => n + s.routes.length, 0);
  const streams = config.servers.reduce((n, s) => n + s.streams.length, 0);
  const ignored = warnings.length
    ? ` (${warnings.length} key(s) ignored, as the original did; --strict refuses them)`
    : "";
  console.log(
    `config OK: ${servers} server(s), ${routes} route(s), ${streams} stream(s)${ignored}`,
  );
  if (v["skip-nginx-test"]) return 0;
  const backend = createBackend(BUILTIN_KINDS.backends, config, {
    logger: log.child(config.backend),
    metrics: new MetricsRegistry("aurproxy"),
  });
  const result = await backend.validate(placeholderSnapshot(config));
  const check = PROXY_CHECKS[backend.name] ?? `${backend.name}'s check`;
  if (!result.ok) {
    // A config the proxy refuses is a config error like any other.
    console.error(`aurproxy validate: ${check} rejected the rendered config:\n${result.error}`);
    return EXIT_USAGE;
  }
  console.log(`${check}: rendered config OK`);
  return 0;
}
