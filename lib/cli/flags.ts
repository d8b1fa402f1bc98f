/**
 * Command-line flags. Names and defaults of the original aurproxy's `run` command are
 * kept so existing Aurora job files work unchanged; `--flag=value`, `--flag value` and
 * the original's `--flag_name` spelling are all accepted.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BACKENDS } from "../backends/kinds.ts";
import { UsageError } from "../errors.ts";
import { suggest } from "../text/suggest.ts";
import { MIRROR_RUN_FLAGS } from "./mirror_flags.ts";
import { API_FLAGS } from "./api_flags.ts";

type FlagKind = "string" | "boolean";

/** One flag: its type, default, help, and whether its feature exists yet. */
export interface FlagSpec {
  readonly type: FlagKind;
  readonly multiple?: boolean;
  readonly default?: string | boolean;
  readonly help: string;
  /** Set when the feature behind the flag has not landed: using the flag is an error. */
  readonly unsupported?: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** The `unsupported` text of a flag whose feature has not landed. */
export const NOT_YET = "not supported yet";
const TRUE = ["true", "1", "yes"];
const FALSE = ["false", "0", "no"];

/** Flags of `aurproxy run`. */
export const RUN_FLAGS: FlagTable = {
  "management-port": { type: "string", help: "Port of the management HTTP server (required)." },
  "management-host": {
    type: "string",
    default: "0.0.0.0",
    help: "Address the management server binds (Aurora's executor must reach it).",
  },
  "management-lifecycle-allow": {
    type: "string",
    multiple: true,
    help: "Networks (CIDR, comma-separated, repeatable) that may POST /quitquitquit and " +
      "/abortabortabort besides loopback, e.g. 10.0.0.0/8 (default: loopback only).",
  },
  config: {
    type: "string",
    help: "Proxy configuration: a JSON string, file:///path or a path (required).",
  },
  backend: {
    type: "string",
    default: "nginx",
    help: `Backend of a config without a "backend" key: ${
      BACKENDS.map((b) => b.name).join(" or ")
    }.`,
  },
  "strict-config": {
    type: "boolean",
    default: false,
    help: "Refuse keys the original ignored (unknown keys on the top level, servers, routes " +
      "and streams) instead of logging a warning; the same as validate --strict.",
  },
  "update-period": {
    type: "string",
    default: "2",
    help: "Seconds between checks for retrying a failed proxy update.",
  },
  "max-update-frequency": {
    type: "string",
    default: "10",
    help: "Minimum seconds between two proxy updates (0: as fast as changes come).",
  },
  "weight-adjustment-delay-seconds": {
    type: "string",
    default: "180",
    help: "Seconds after start during which share adjusters are not applied.",
  },
  setup: {
    type: "boolean",
    default: false,
    help: "Render and write the proxy config once (no reload), then exit.",
  },
  supervise: {
    type: "boolean",
    default: false,
    help: "Start the proxy (nginx) as aurproxy's own child and supervise it: write its " +
      "config as --setup does, start it in the foreground, reload it on changes, restart " +
      "it with backoff if it dies, stop it gracefully on shutdown (after deregistration). " +
      "Without it, the proxy is started separately (run --setup, nginx, run).",
  },
  "state-file": {
    type: "string",
    help: "File keeping the last known endpoints, used when ZooKeeper is down at start-up " +
      "(default: aurproxy-state.json beside configuration_file; --state-file= turns it off).",
  },
  "state-max-age-seconds": {
    type: "string",
    default: "86400",
    help: "Ignore a state file older than this.",
  },
  "update-failure-threshold-seconds": {
    type: "string",
    default: "60",
    help: "Fail /health once proxy updates that a restart may fix (nginx not reloading, " +
      "config not writable) have failed for this long.",
  },
  "zk-session-timeout-seconds": {
    type: "string",
    default: "30",
    help: "ZooKeeper session timeout.",
  },
  "log-level": { type: "string", default: "info", help: "debug, info, warn or error." },
  "sentry-dsn": {
    type: "string",
    help: "Sentry DSN for error reporting (empty: off).",
  },
  "registration-class": {
    type: "string",
    help: "Self registerer class (ElbSelfRegisterer, Route53SelfRegisterer, ElbV2SelfRegisterer).",
  },
  "registration-arg": {
    type: "string",
    multiple: true,
    help: "k=v argument for the registerer (repeatable).",
  },
  "metric-publisher-class": {
    type: "string",
    help: "Metrics publisher: LibratoMetricPublisher, OpenTSDBMetricPublisher or " +
      "StatsdMetricPublisher (tellapart.aurproxy.metrics.publisher.* paths or short names).",
  },
  "metric-publisher-arg": {
    type: "string",
    multiple: true,
    help: "k=v argument for the metrics publisher (repeatable): source, period, api_user, ...",
  },
  // Mirroring with gor (issue 9): specs and validation live in ./mirror_flags.ts.
  ...MIRROR_RUN_FLAGS,
  // The ApiSource's HTTP API (issue 9): ./api_flags.ts.
  ...API_FLAGS,
  help: { type: "boolean", default: false, help: "Show this help." },
};

/** Flags of `aurproxy synchronize`, the original's plus `--output` and `--remove-last`. */
export const SYNCHRONIZE_FLAGS: FlagTable = {
  "registration-source": {
    type: "string",
    help: "Source (JSON, as in --config) whose endpoints' hosts should be registered (required).",
  },
  "registration-class": {
    type: "string",
    help: "Job registerer: ElbJobRegisterer, Route53JobRegisterer or ElbV2JobRegisterer " +
      "(tellapart.aurproxy.register.* paths or short names; required).",
  },
  "registration-arg": {
    type: "string",
    multiple: true,
    help: "k=v argument for the registerer (repeatable): region, elb_names, ...",
  },
  write: {
    type: "boolean",
    default: false,
    help: "Make the changes; without it nothing is changed, only decided.",
  },
  output: { type: "string", default: "table", help: "table (one line per decision) or json." },
  "remove-last": {
    type: "boolean",
    default: false,
    help: "Allow removing the last registered member of a target.",
  },
  "zk-session-timeout-seconds": RUN_FLAGS["zk-session-timeout-seconds"],
  "log-level": { ...RUN_FLAGS["log-level"], default: "warn" },
  help: RUN_FLAGS.help,
};

/** Parsed flag values: strings, booleans, or string lists for repeatable flags. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `args` against `table`. Throws {@linkcode UsageError} naming the flag.
 *
 * @example
 * ```ts
 * parseFlags(["--management-port=8080", "--setup"], RUN_FLAGS)["management-port"]; // "8080"
 * ```
 */
export function parseFlags(args: readonly string[], table: FlagTable): FlagValues {
  const normalized = args.flatMap((a) => {
    if (!a.startsWith("--")) return [a];
    const eq = a.indexOf("=");
    const name = (eq < 0 ? a.slice(2) : a.slice(2, eq)).replaceAll("_", "-");
    if (eq < 0 || table[name]?.type !== "boolean") return [`--${name}${eq < 0 ? "" : a.slice(eq)}`];
    // Job files written for the original pass booleans as --setup=True as well.
    const v = a.slice(eq + 1).toLowerCase();
    if (TRUE.includes(v)) return [`--${name}`];
    if (FALSE.includes(v)) return [];
    throw new UsageError(`--${name}`, `expected no value, true or false, got ${a.slice(eq + 1)}`);
  });
  for (const a of normalized) {
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0];
    if (!(name in table)) {
      const hint = suggest(name, Object.keys(table));
      throw new UsageError(`--${name}`, `unknown flag${hint ? ` (did you mean --${hint}?)` : ""}`);
    }
  }
  const options = Object.fromEntries(
    Object.entries(table).map(([k, s]) => [k, { type: s.type, multiple: s.multiple ?? false }]),
  );
  let values: FlagValues;
  try {
    const parsed = parseArgs({ args: normalized, options, allowPositionals: false, strict: true });
    values = parsed.values as FlagValues;
  } catch (err) {
    throw new UsageError("", (err as Error).message);
  }
  for (const [name, spec] of Object.entries(table)) {
    if (spec.unsupported && values[name] !== undefined) {
      // An empty --sentry-dsn='' (as in the original's examples) means "off": allow it.
      if (values[name] === "") continue;
      throw new UsageError(`--${name}`, spec.unsupported);
    }
    if (values[name] === undefined && spec.default !== undefined) values[name] = spec.default;
  }
  return values;
}

/** A required string flag. */
export function requireString(values: FlagValues, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name}`, "required");
  return v;
}

/** A number flag within [min, max]; integers only unless `fractional`. */
export function numberFlag(
  values: FlagValues,
  name: string,
  opts: { min: number; max?: number; fractional?: boolean },
): number {
  const raw = values[name];
  const n = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  const kind = opts.fractional ? "a number" : "an integer";
  const range = opts.max === undefined ? `>= ${opts.min}` : `${opts.min}-${opts.max}`;
  if (!Number.isFinite(n) || (!opts.fractional && !Number.isInteger(n))) {
    throw new UsageError(`--${name}`, `expected ${kind} ${range}, got ${JSON.stringify(raw)}`);
  }
  if (n < opts.min || (opts.max !== undefined && n > opts.max)) {
    throw new UsageError(`--${name}`, `expected ${kind} ${range}, got ${n}`);
  }
  return n;
}

/** Help text for a flag table. */
export function flagHelp(table: FlagTable): string {
  return Object.entries(table).map(([name, s]) => {
    const arg = s.type === "string" ? "=VALUE" : "";
    const def = s.default !== undefined && s.type === "string" ? ` (default ${s.default})` : "";
    const note = s.unsupported ? ` [${s.unsupported}]` : "";
    return `  --${name}${arg}\n      ${s.help}${def}${note}`;
  }).join("\n");
}
