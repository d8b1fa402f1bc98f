/**
 * aurproxy command line: `aurproxy <command> [flags]`.
 *
 * Usage and configuration errors print one line per problem, naming the flag or JSON
 * path, and exit with code 2.
 *
 * @module
 */

import { UsageError, UsageErrors } from "./lib/errors.ts";
import { COMMANDS, mainHelp } from "./lib/cli/commands.ts";

/** Runs the CLI with `args`; resolves with the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(mainHelp());
    return name === undefined ? 2 : 0;
  }
  // As most tools spell it; the same as the `version` command.
  const command = COMMANDS[name === "--version" ? "version" : name];
  if (!command) {
    console.error(`aurproxy: unknown command ${JSON.stringify(name)}\n\n${mainHelp()}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageErrors) {
      for (const e of err.errors) console.error(`aurproxy ${name}: ${e.message}`);
      return 2;
    }
    if (err instanceof UsageError) {
      console.error(`aurproxy ${name}: ${err.message}`);
      return 2;
    }
    console.error(`aurproxy ${name}: ${err instanceof Error ? err.stack : err}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
