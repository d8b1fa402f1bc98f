/**
 * The table of commands: name → flags, help and implementation.
 *
 * @module
 */

import { flagHelp, type FlagTable, parseFlags, RUN_FLAGS, SYNCHRONIZE_FLAGS } from "./flags.ts";
import { runRender, runValidate } from "./render.ts";
import { run, runOptions } from "./run.ts";
import { REPLAY_FLAGS, replayOptions, runReplay } from "./replay.ts";
import type { Logger } from "../log.ts";
import { OBSERVABILITY_FLAGS, withObservability } from "./observability.ts";
import { versionLine } from "../version.ts";

export interface Command {
  readonly summary: string;
  readonly flags: FlagTable;
  run(args: readonly string[]): Promise<number>;
}

const HELP_FLAG = { help: { type: "boolean", default: false, help: "Show this help." } } as const;

/** Flags of `render` and `validate`: the config plus what affects rendering. */
export const RENDER_FLAGS: FlagTable = {
  config: RUN_FLAGS.config,
  backend: RUN_FLAGS.backend,
  strict: {
    type: "boolean",
    default: false,
    help: "Refuse keys the original ignored (unknown keys on the top level, servers, routes " +
      "and streams) instead of warning about them; run --strict-config does the same.",
  },
  "zk-session-timeout-seconds": RUN_FLAGS["zk-session-timeout-seconds"],
  "state-file": RUN_FLAGS["state-file"],
  "state-max-age-seconds": RUN_FLAGS["state-max-age-seconds"],
  "log-level": { ...RUN_FLAGS["log-level"], default: "warn" },
  ...HELP_FLAG,
};

/**
 * A command: its flags plus `--sentry-dsn` and `--log-format`, `--help`, and the body run
 * with the command's logger (and Sentry, when configured).
 */
function withHelp(
  name: string,
  summary: string,
  own: FlagTable,
  body: (v: ReturnType<typeof parseFlags>, log: Logger) => Promise<number>,
): Command {
  const { help, ...rest } = own;
  const flags: FlagTable = { ...rest, ...OBSERVABILITY_FLAGS, ...(help ? { help } : {}) };
  return {
    summary,
    flags,
    run: (args) => {
      const v = parseFlags(args, flags);
      if (v.help) {
        console.log(`aurproxy ${name}: ${summary}\n\nFlags:\n${flagHelp(flags)}`);
        return Promise.resolve(0);
      }
      return withObservability(v, (log) => body(v, log));
    },
  };
}

const replayCommand = (name: string) =>
  withHelp(
    name,
    "run a gor traffic replay server manager; with --setup, write gor's launch script once",
    REPLAY_FLAGS,
    (v, log) => runReplay(replayOptions(v), log),
  );

/** `aurproxy version` (also `aurproxy --version`): one line on stdout, exit 0. */
const versionCommand: Command = {
  summary: "print aurproxy's version and the Deno runtime it runs on (also --version)",
  flags: HELP_FLAG,
  run: (args) => {
    const v = parseFlags(args, HELP_FLAG);
    if (v.help) {
      console.log(`aurproxy version: ${versionCommand.summary}\n\nFlags:\n${flagHelp(HELP_FLAG)}`);
    } else {
      console.log(versionLine());
    }
    return Promise.resolve(0);
  },
};

export const COMMANDS: Readonly<Record<string, Command>> = {
  run: withHelp(
    "run",
    "run the proxy manager; with --setup, write the proxy config once and exit",
    RUN_FLAGS,
    (v, log) => run(runOptions(v), log),
  ),
  render: withHelp(
    "render",
    "print the proxy config (nginx or HAProxy) for --config with the current endpoints (no weight adjustment)",
    RENDER_FLAGS,
    (v, log) => runRender(v, log),
  ),
  validate: withHelp(
    "validate",
    "check --config, and the proxy config it renders (nginx -t, haproxy -c)",
    {
      ...RENDER_FLAGS,
      "skip-nginx-test": { type: "boolean", default: false, help: "Only check the JSON config." },
    },
    (v, log) => runValidate(v, log),
  ),
  run_replay: replayCommand("run_replay"),
  "run-replay": replayCommand("run-replay"),
  synchronize: withHelp(
    "synchronize",
    "add and remove a job's instances in ELBs, target groups or Route 53 (--write to change)",
    SYNCHRONIZE_FLAGS,
    // Loaded on use: the AWS SDK costs every other command ~70 ms and ~50 MB to import.
    (v, log) => import("./synchronize.ts").then((m) => m.runSynchronize(v, { logger: log })),
  ),
  version: versionCommand,
};

/** Top-level help. */
export function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return `aurproxy: keeps nginx or HAProxy pointed at the live instances of Aurora services.

Usage: aurproxy <command> [flags]   (aurproxy <command> --help for its flags)
       aurproxy --version              (the same as aurproxy version)

Commands:
${rows.join("\n")}`;
}
