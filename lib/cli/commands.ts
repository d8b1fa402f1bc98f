/**
 * The table of commands: name → flags, help and implementation.
 *
 * @module
 */

import { consoleLogger } from "../log.ts";
import { flagHelp, type FlagTable, parseFlags, RUN_FLAGS, SYNCHRONIZE_FLAGS } from "./flags.ts";
import { runRender, runValidate } from "./render.ts";
import { logLevel, run, runOptions } from "./run.ts";
import { REPLAY_FLAGS, replayOptions, runReplay } from "./replay.ts";

export interface Command {
  readonly summary: string;
  readonly flags: FlagTable;
  run(args: readonly string[]): Promise<number>;
}

const HELP_FLAG = { help: { type: "boolean", default: false, help: "Show this help." } } as const;

/** Flags of `render` and `validate`: the config plus what affects rendering. */
export const RENDER_FLAGS: FlagTable = {
  config: RUN_FLAGS.config,
  "zk-session-timeout-seconds": RUN_FLAGS["zk-session-timeout-seconds"],
  "state-file": RUN_FLAGS["state-file"],
  "state-max-age-seconds": RUN_FLAGS["state-max-age-seconds"],
  "log-level": { ...RUN_FLAGS["log-level"], default: "warn" },
  ...HELP_FLAG,
};

function withHelp(
  name: string,
  summary: string,
  flags: FlagTable,
  body: (v: ReturnType<typeof parseFlags>) => Promise<number>,
): Command {
  return {
    summary,
    flags,
    run: (args) => {
      const v = parseFlags(args, flags);
      if (v.help) {
        console.log(`aurproxy ${name}: ${summary}\n\nFlags:\n${flagHelp(flags)}`);
        return Promise.resolve(0);
      }
      return body(v);
    },
  };
}

const replayCommand = (name: string) =>
  withHelp(
    name,
    "run a gor traffic replay server manager; with --setup, write gor's launch script once",
    REPLAY_FLAGS,
    (v) => runReplay(replayOptions(v)),
  );

export const COMMANDS: Readonly<Record<string, Command>> = {
  run: withHelp(
    "run",
    "run the proxy manager; with --setup, write the proxy config once and exit",
    RUN_FLAGS,
    (v) => run(runOptions(v)),
  ),
  render: withHelp(
    "render",
    "print the nginx config for --config with the current endpoints (no weight adjustment)",
    RENDER_FLAGS,
    (v) => runRender(v, consoleLogger({ level: logLevel(v), component: "aurproxy" })),
  ),
  validate: withHelp(
    "validate",
    "check --config, and the nginx config it renders with nginx -t",
    {
      ...RENDER_FLAGS,
      "skip-nginx-test": { type: "boolean", default: false, help: "Only check the JSON config." },
    },
    (v) => runValidate(v),
  ),
  run_replay: replayCommand("run_replay"),
  "run-replay": replayCommand("run-replay"),
  synchronize: withHelp(
    "synchronize",
    "add and remove a job's instances in ELBs, target groups or Route 53 (--write to change)",
    SYNCHRONIZE_FLAGS,
    // Loaded on use: the AWS SDK costs every other command ~70 ms and ~50 MB to import.
    (v) => import("./synchronize.ts").then((m) => m.runSynchronize(v)),
  ),
};

/** Top-level help. */
export function mainHelp(): string {
  const rows = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(12)} ${c.summary}`);
  return `aurproxy: keeps nginx pointed at the live instances of Aurora services.

Usage: aurproxy <command> [flags]   (aurproxy <command> --help for its flags)

Commands:
${rows.join("\n")}`;
}
