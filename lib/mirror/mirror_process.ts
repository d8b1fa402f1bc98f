/**
 * Is the process named by the pid file ours, and does it already run what the script now
 * says? (pure). A pid file is only a number in a file: it may be stale, or name a process
 * that has nothing to do with gor since the pid was reused. Only a process whose command
 * line is unmistakably the mirror's is ever signalled.
 *
 * @module
 */

import { FALLBACK_MESSAGE, type MirrorCommand } from "./gor_script.ts";

/** What a command line was recognised as. */
export type MirrorProcessKind =
  /** gor started by the script (directly, or a gor that is itself a script). */
  | "gor"
  /** The placeholder loop of the script for when there are no targets. */
  | "fallback"
  /** The script itself, in the instant between writing its pid and exec'ing gor. */
  | "script"
  /** Anything else: never touched. */
  | "foreign";

/** How the mirror's processes are recognised. */
export interface MirrorIdentity {
  /** gor's binary as the script names it. */
  readonly gorPath: string;
  /** The launch script. */
  readonly commandPath: string;
}

const baseName = (p: string | undefined) => p?.slice(p.lastIndexOf("/") + 1);
const SHELLS = new Set(["bash", "sh"]);

/**
 * Recognises a command line. gor is `<gor path> -output-http-stats …` as the script execs
 * it; when the gor path is itself a script, the kernel shows its interpreter first
 * (`/bin/bash <gor path> -output-http-stats …`), so one leading element is allowed.
 * `command` is the command line from the gor path on, to compare with the script's.
 *
 * @example
 * ```ts
 * const identity = { gorPath: "/opt/go/bin/gor", commandPath: "/etc/aurproxy/gor/dynamic.sh" };
 * classifyCmdline(["/opt/go/bin/gor", "-output-http-stats", "-stats"], identity).kind; // "gor"
 * classifyCmdline(["/usr/sbin/nginx", "-g", "daemon off;"], identity).kind; // "foreign"
 * ```
 */
export function classifyCmdline(
  argv: readonly string[],
  id: MirrorIdentity,
): { kind: MirrorProcessKind; command: readonly string[] } {
  for (const i of [0, 1]) {
    if (argv[i] === id.gorPath && argv[i + 1] === "-output-http-stats") {
      return { kind: "gor", command: argv.slice(i) };
    }
  }
  if (
    baseName(argv[0]) === "bash" && argv[1] === "-c" && argv.length >= 4 &&
    argv.at(-1) === FALLBACK_MESSAGE
  ) {
    return { kind: "fallback", command: argv };
  }
  if (SHELLS.has(baseName(argv[0]) ?? "") && argv[1] === id.commandPath && argv.length === 2) {
    return { kind: "script", command: argv };
  }
  return { kind: "foreign", command: argv };
}

/** True when the running `command` (from {@linkcode classifyCmdline}) is what `want` runs. */
export function runsCommand(
  found: { kind: MirrorProcessKind; command: readonly string[] },
  want: MirrorCommand,
): boolean {
  return found.kind === want.kind && found.command.length === want.argv.length &&
    found.command.every((a, i) => a === want.argv[i]);
}

/**
 * The pid in a pid file's text, or undefined when it holds none that may be signalled:
 * only a plain decimal number above 1 (0, 1 and negative numbers address the group, init
 * or every process).
 *
 * @example
 * ```ts
 * parsePidFile("4242\n"); // 4242
 * parsePidFile("-1");     // undefined
 * ```
 */
export function parsePidFile(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  const pid = Number(t);
  return pid > 1 && pid <= 0x3fffffff ? pid : undefined;
}
