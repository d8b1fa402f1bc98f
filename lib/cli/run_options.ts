/**
 * The options of `aurproxy run`, from its flags: {@linkcode runOptions} checks each and
 * names the flag in its UsageError; {@linkcode defaultStateFile} is where the state file
 * goes when `--state-file` is not given. `logLevel` and `publisherFlags` are shared with
 * the other commands that take those flags.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { configurationFileOf } from "../backends/table.ts";
import { UsageError } from "../errors.ts";
import { BUILTIN_KINDS } from "../kinds.ts";
import type { Level } from "../log.ts";
import { type IpNetwork, parseNetwork } from "../management/ip_network.ts";
import { type PublisherConfig, publisherConfig } from "../metrics/publishers/classes.ts";
import type { MirrorSettings } from "../mirror/start_mirror.ts";
import type { ProxyConfig } from "../model/config.ts";
import { apiTokenFile } from "./api_flags.ts";
import { backendFlag } from "./config_flags.ts";
import { type FlagValues, numberFlag, requireString } from "./flags.ts";
import { mirrorSettings } from "./mirror_flags.ts";

const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];

/** Validated `run` options. */
export interface RunOptions {
  readonly configArg: string;
  readonly managementPort: number;
  readonly managementHost: string;
  /** `--management-lifecycle-allow`: networks besides loopback that may shut down. */
  readonly lifecycleAllow: readonly IpNetwork[];
  readonly setup: boolean;
  /** `--supervise`: aurproxy starts and supervises the proxy itself. */
  readonly supervise: boolean;
  readonly updatePeriodSeconds: number;
  readonly minIntervalSeconds: number;
  readonly weightAdjustmentDelaySeconds: number;
  /**
   * The state file; undefined: the default ({@linkcode defaultStateFile}); `false`: none
   * (`--state-file=`).
   */
  readonly stateFile?: string | false;
  readonly stateMaxAgeSeconds: number;
  readonly zkSessionTimeoutSeconds: number;
  /** `--update-failure-threshold-seconds`. */
  readonly updateFailureThresholdSeconds?: number;
  readonly logLevel: Level;
  /** `--api-token-file`: the bearer token ApiSources' PUT and DELETE need. */
  readonly apiTokenFile?: string;
  /** Traffic mirroring with gor, when `--mirror-source` is given. */
  readonly mirror?: MirrorSettings;
  /** `--registration-class` and its `--registration-arg`s: self registration, when set. */
  readonly registration?: { readonly className?: string; readonly args: readonly string[] };
  /** `--backend`: the backend of a config without a `"backend"` key. */
  readonly backend: string;
  /** `--strict-config`: keys the original ignored are errors, not warnings. */
  readonly strictConfig: boolean;
  /** `--metric-publisher-class` and its `--metric-publisher-arg`s, validated. */
  readonly metricPublisher?: PublisherConfig;
}

/** Turns flag values into {@linkcode RunOptions}; throws UsageError naming the flag. */
export function runOptions(v: FlagValues): RunOptions {
  if (v.supervise === true && v.setup === true) {
    throw new UsageError(
      "--supervise",
      "cannot be combined with --setup: --setup writes the config for a proxy started " +
        "separately and exits; --supervise writes it itself and runs the proxy",
    );
  }
  return {
    supervise: v.supervise === true,
    backend: backendFlag(v),
    strictConfig: v["strict-config"] === true,
    configArg: requireString(v, "config"),
    managementPort: numberFlag(v, "management-port", { min: 0, max: 65535 }),
    managementHost: String(v["management-host"]),
    lifecycleAllow: networksFlag(v, "management-lifecycle-allow"),
    setup: v.setup === true,
    updatePeriodSeconds: numberFlag(v, "update-period", { min: 0.01, fractional: true }),
    minIntervalSeconds: numberFlag(v, "max-update-frequency", { min: 0, fractional: true }),
    weightAdjustmentDelaySeconds: numberFlag(v, "weight-adjustment-delay-seconds", {
      min: 0,
      fractional: true,
    }),
    stateFile: typeof v["state-file"] === "string" ? v["state-file"] || false : undefined,
    stateMaxAgeSeconds: numberFlag(v, "state-max-age-seconds", { min: 0, fractional: true }),
    zkSessionTimeoutSeconds: numberFlag(v, "zk-session-timeout-seconds", {
      min: 0.1,
      fractional: true,
    }),
    updateFailureThresholdSeconds: numberFlag(v, "update-failure-threshold-seconds", {
      min: 0,
      fractional: true,
    }),
    logLevel: logLevel(v),
    apiTokenFile: apiTokenFile(v),
    mirror: mirrorSettings(v),
    registration: {
      className: typeof v["registration-class"] === "string" ? v["registration-class"] : undefined,
      args: (v["registration-arg"] as string[] | undefined) ?? [],
    },
    metricPublisher: publisherFlags(v),
  };
}

/**
 * The state file when `--state-file` is not given: `aurproxy-state.json` beside the proxy's
 * config (its backend's `configuration_file`); none for a backend that names no file.
 */
export function defaultStateFile(config: ProxyConfig): string | undefined {
  const file = configurationFileOf(BUILTIN_KINDS.backends, config);
  return file === undefined ? undefined : join(dirname(file), "aurproxy-state.json");
}

/** A repeatable flag of comma-separated networks, checked. */
function networksFlag(v: FlagValues, name: string): IpNetwork[] {
  const raw = v[name];
  const items = (Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [])
    .flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  return items.map((s) => {
    try {
      return parseNetwork(s);
    } catch (err) {
      throw new UsageError(`--${name}`, (err as Error).message);
    }
  });
}
/** `--metric-publisher-class` and `--metric-publisher-arg`, checked (run and run_replay). */
export function publisherFlags(v: FlagValues): PublisherConfig | undefined {
  return publisherConfig(
    typeof v["metric-publisher-class"] === "string" ? v["metric-publisher-class"] : undefined,
    (v["metric-publisher-arg"] as string[] | undefined) ?? [],
  );
}

/** `--log-level`, checked. */
export function logLevel(v: FlagValues): Level {
  const level = v["log-level"] as Level;
  if (!LEVELS.includes(level)) {
    throw new UsageError("--log-level", `expected one of ${LEVELS.join(", ")}, got ${level}`);
  }
  return level;
}
