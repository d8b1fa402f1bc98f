/**
 * The gor flags: `--mirror-*` of `aurproxy run` and `--replay-*` of `aurproxy run_replay`,
 * with the original's names and defaults, and their validation into
 * {@linkcode MirrorSettings}. Every problem is reported at once, naming the flag (exit 2).
 *
 * This file imports only types from `./flags.ts`, which spreads
 * {@linkcode MIRROR_RUN_FLAGS} into the `run` table: a value import back would be a
 * cycle that breaks whichever module loads first.
 *
 * @module
 */

import { resolve } from "node:path";
import { UsageError, UsageErrors } from "../errors.ts";
import type { GorMode } from "../mirror/gor_script.ts";
import { parseSourceJson } from "../mirror/source_config.ts";
import type { MirrorSettings } from "../mirror/start_mirror.ts";
import type { SourceConfig } from "../model/config.ts";
import type { FlagTable, FlagValues } from "./flags.ts";

/** The launch script Thermos's `gor_process` runs (the original's fixed path). */
export const DEFAULT_COMMAND_PATH = "/etc/aurproxy/gor/dynamic.sh";
/** Where the original's image installs gor. */
export const DEFAULT_GOR_PATH = "/opt/go/bin/gor";
/** The original's pid file, for mirroring and replay alike. */
export const DEFAULT_PID_PATH = "/tmp/mirror_pid";

const GOR_PATH: FlagTable = {
  "gor-path": {
    type: "string",
    default: DEFAULT_GOR_PATH,
    help: "gor's binary, as the launch script execs it (absolute).",
  },
};

/** The mirroring flags of `aurproxy run`. */
export const MIRROR_RUN_FLAGS: FlagTable = {
  "mirror-source": {
    type: "string",
    help: "Source (JSON, any kind, validated like a source in --config) of the gor replay " +
      "servers to mirror traffic to; turns mirroring on.",
  },
  "mirror-ports": {
    type: "string",
    help: 'Local ports whose traffic gor mirrors, comma-separated: "8080,8081" ' +
      "(required with --mirror-source).",
  },
  "mirror-max-qps": {
    type: "string",
    default: "0",
    help: "Requests per second mirrored to each replay server (required with --mirror-source).",
  },
  "mirror-max-update-frequency": {
    type: "string",
    default: "15",
    help: "Minimum seconds between two rewrites of the launch script (and gor restarts).",
  },
  "mirror-pid-path": {
    type: "string",
    default: DEFAULT_PID_PATH,
    help: "Pid file the launch script writes; names the gor to end on a change.",
  },
  "mirror-command-path": {
    type: "string",
    default: DEFAULT_COMMAND_PATH,
    help: "gor's launch script, rewritten on every change (Thermos's gor_process runs it).",
  },
  ...GOR_PATH,
  "mirror-supervise": {
    type: "boolean",
    default: false,
    help: "Run the launch script as aurproxy's own child and restart it on each change, " +
      "instead of ending the gor in the pid file for Thermos to restart.",
  },
};

/** The replay flags of `aurproxy run_replay` (management, metrics and log flags aside). */
export const REPLAY_OWN_FLAGS: FlagTable = {
  "replay-port": {
    type: "string",
    help: "Port gor listens on for the mirrored stream (required; a comma-separated list " +
      "listens on each).",
  },
  "replay-source": {
    type: "string",
    help: "Source (JSON) of the endpoints gor replays the traffic to (required).",
  },
  "replay-max-qps": {
    type: "string",
    help: "Requests per second replayed to each endpoint (required).",
  },
  "replay-max-update-frequency": {
    type: "string",
    default: "15",
    help: "Minimum seconds between two rewrites of the launch script (and gor restarts).",
  },
  "replay-pid-path": {
    type: "string",
    default: DEFAULT_PID_PATH,
    help: "Pid file the launch script writes; names the gor to end on a change.",
  },
  "replay-command-path": {
    type: "string",
    help: `gor's launch script, rewritten on every change (default ${DEFAULT_COMMAND_PATH}).`,
  },
  "mirror-command-path": {
    type: "string",
    help: "The same as --replay-command-path (the name `aurproxy run` uses).",
  },
  ...GOR_PATH,
  "replay-supervise": {
    type: "boolean",
    default: false,
    help: "Run the launch script as aurproxy's own child and restart it on each change, " +
      "instead of ending the gor in the pid file for Thermos to restart.",
  },
};

/** The flag names of one mode. */
interface Names {
  readonly source: string;
  readonly ports: string;
  readonly qps: string;
  readonly frequency: string;
  readonly pid: string;
  readonly supervise: string;
}

/**
 * `run`'s mirroring, or undefined when `--mirror-source` is absent or empty (the other
 * `--mirror-*` flags are then ignored, as the original did).
 *
 * @example
 * ```ts
 * import { parseFlags, RUN_FLAGS } from "./flags.ts";
 *
 * const source = '{"source_class": "static", "name": "shadow", "host": "10.0.0.1", "port": 9000}';
 * const v = parseFlags([`--mirror-source=${source}`, "--mirror-ports=8080", "--mirror-max-qps=100"], RUN_FLAGS);
 * mirrorSettings(v)?.spec.ports; // [8080]
 * ```
 */
export function mirrorSettings(v: FlagValues): MirrorSettings | undefined {
  if (typeof v["mirror-source"] !== "string" || v["mirror-source"] === "") return undefined;
  const errors: UsageError[] = [];
  const commandPath = path(v, "mirror-command-path", errors);
  return settings(
    v,
    "mirror",
    {
      source: "mirror-source",
      ports: "mirror-ports",
      qps: "mirror-max-qps",
      frequency: "mirror-max-update-frequency",
      pid: "mirror-pid-path",
      supervise: "mirror-supervise",
    },
    commandPath,
    errors,
  );
}

/**
 * `run_replay`'s settings; `--replay-port`, `--replay-source` and `--replay-max-qps` are
 * required.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * import { REPLAY_FLAGS } from "./replay.ts";
 *
 * const source = '{"source_class": "static", "name": "r", "host": "10.0.0.1", "port": 9000}';
 * replaySettings(parseFlags(["--replay-port=12346", `--replay-source=${source}`, "--replay-max-qps=1000"], REPLAY_FLAGS));
 * ```
 */
export function replaySettings(v: FlagValues): MirrorSettings {
  const errors: UsageError[] = [];
  const a = v["replay-command-path"];
  const b = v["mirror-command-path"];
  if (typeof a === "string" && typeof b === "string" && a !== b) {
    errors.push(
      new UsageError("--mirror-command-path", "differs from --replay-command-path: give one"),
    );
  }
  const given = a !== undefined
    ? "replay-command-path"
    : b !== undefined
    ? "mirror-command-path"
    : "";
  const commandPath = given ? path(v, given, errors) : DEFAULT_COMMAND_PATH;
  if (typeof v["replay-source"] !== "string" || v["replay-source"] === "") {
    errors.push(new UsageError("--replay-source", "required: the source to replay to (JSON)"));
  }
  return settings(
    v,
    "replay",
    {
      source: "replay-source",
      ports: "replay-port",
      qps: "replay-max-qps",
      frequency: "replay-max-update-frequency",
      pid: "replay-pid-path",
      supervise: "replay-supervise",
    },
    commandPath,
    errors,
  );
}

function settings(
  v: FlagValues,
  mode: GorMode,
  n: Names,
  commandPath: string,
  errors: UsageError[],
): MirrorSettings {
  let source: SourceConfig | undefined;
  if (typeof v[n.source] === "string" && v[n.source] !== "") {
    try {
      source = parseSourceJson(v[n.source] as string, `--${n.source}`);
    } catch (err) {
      if (err instanceof UsageErrors) errors.push(...err.errors);
      else if (err instanceof UsageError) errors.push(err);
      else throw err;
    }
  }
  const ports = portList(v, n.ports, errors);
  const maxQps = positiveInteger(v, n.qps, errors);
  const frequency = seconds(v, n.frequency, errors);
  const pidPath = path(v, n.pid, errors);
  const gorPath = nonEmpty(v, "gor-path", errors);
  if (errors.length || !source) throw new UsageErrors(errors);
  return {
    spec: { mode, gorPath, pidPath, ports, maxQps },
    source,
    commandPath,
    minIntervalSeconds: frequency,
    supervise: v[n.supervise] === true,
  };
}

const what = (name: string) => name.startsWith("mirror") ? " with --mirror-source" : "";

function portList(v: FlagValues, name: string, errors: UsageError[]): number[] {
  const raw = v[name];
  if (typeof raw !== "string" || raw.trim() === "") {
    errors.push(new UsageError(`--${name}`, `required${what(name)}: comma-separated ports`));
    return [];
  }
  const ports: number[] = [];
  for (const part of raw.split(",").map((p) => p.trim())) {
    const n = /^\d{1,5}$/.test(part) ? Number(part) : NaN;
    if (!(n >= 1 && n <= 65535)) {
      errors.push(
        new UsageError(`--${name}`, `expected ports 1-65535, comma-separated, got ${raw}`),
      );
      return [];
    }
    if (ports.includes(n)) {
      errors.push(new UsageError(`--${name}`, `port ${n} given twice`));
      return [];
    }
    ports.push(n);
  }
  return ports;
}

function positiveInteger(v: FlagValues, name: string, errors: UsageError[]): number {
  const raw = v[name];
  if (raw === undefined || raw === "" || raw === "0") {
    errors.push(
      new UsageError(`--${name}`, `required${what(name)}: requests per second, an integer >= 1`),
    );
    return 0;
  }
  const n = typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    errors.push(
      new UsageError(`--${name}`, `expected an integer >= 1, got ${JSON.stringify(raw)}`),
    );
  }
  return n;
}

function seconds(v: FlagValues, name: string, errors: UsageError[]): number {
  const raw = v[name];
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < 0) {
    errors.push(new UsageError(`--${name}`, `expected a number >= 0, got ${JSON.stringify(raw)}`));
    return 0;
  }
  return n;
}

function nonEmpty(v: FlagValues, name: string, errors: UsageError[]): string {
  const raw = v[name];
  if (typeof raw !== "string" || raw === "") {
    errors.push(new UsageError(`--${name}`, "required: a path"));
    return "";
  }
  return raw;
}

/**
 * A path made absolute: bash (the script's pid file), aurproxy (reading it) and a
 * supervised child may not share the working directory.
 */
function path(v: FlagValues, name: string, errors: UsageError[]): string {
  const raw = nonEmpty(v, name, errors);
  return raw === "" ? raw : resolve(raw);
}
