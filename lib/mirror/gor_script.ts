/**
 * The launch script of gor (pure): what `/etc/aurproxy/gor/dynamic.sh` holds for a set of
 * mirror targets. Thermos (or aurproxy itself, supervised) runs the script; it writes its
 * pid and execs gor, so the pid file names gor itself.
 *
 * Mirroring (on `aurproxy run`) captures the local ports and streams them over TCP to
 * replay servers; replaying (`aurproxy run_replay`) listens for that stream and sends the
 * requests over HTTP to the replay targets. Lines and flags are the original's:
 *
 * ```sh
 * #!/bin/bash
 * echo $$ > /tmp/mirror_pid
 * exec /opt/go/bin/gor -output-http-stats -stats --input-raw :8080 --output-tcp "10.0.0.1:9000|100"
 * ```
 *
 * With no targets there is no valid gor command line, yet Thermos keeps the process
 * running: the script is then a placeholder that writes its pid and prints
 * {@linkcode FALLBACK_MESSAGE} every 10 s (bash only; the original needed Python).
 *
 * @module
 */

import { endpointKey } from "../model/endpoint.ts";
import { doubleQuotedWord, shellWord } from "./shell_quote.ts";

/** Printed by the placeholder script; also how its command line is recognised. */
export const FALLBACK_MESSAGE = "No mirror source endpoints found.";

/** `$0` of the placeholder loop: names it in `ps`. */
const FALLBACK_NAME = "aurproxy-mirror-fallback";

/**
 * The placeholder loop. It waits on a background `sleep` so a SIGTERM ends it at once
 * and takes the `sleep` with it (a foreground `sleep` would outlive it by up to 10 s).
 */
const FALLBACK_LOOP = 'trap "kill \\$! 2>/dev/null; exit 0" TERM INT; ' +
  'while :; do echo "$1"; sleep 10 & wait $!; done';

/**
 * The command line the placeholder runs as, as `/proc/<pid>/cmdline` shows it.
 *
 * @example
 * ```ts
 * FALLBACK_ARGV.at(-1); // "No mirror source endpoints found."
 * ```
 */
export const FALLBACK_ARGV: readonly string[] = Object.freeze([
  "/bin/bash",
  "-c",
  FALLBACK_LOOP,
  FALLBACK_NAME,
  FALLBACK_MESSAGE,
]);

/** `mirror`: capture local ports, stream over TCP; `replay`: receive it, send over HTTP. */
export type GorMode = "mirror" | "replay";

/** Everything of the script but the targets. */
export interface GorScriptSpec {
  readonly mode: GorMode;
  /** gor's binary (`--gor-path`); absolute, so its command line can be recognised. */
  readonly gorPath: string;
  /** Where the script writes its pid (`--mirror-pid-path` / `--replay-pid-path`). */
  readonly pidPath: string;
  /** Mirror: local ports captured (`--input-raw :<port>`); replay: ports listened on. */
  readonly ports: readonly number[];
  /** Requests per second sent to each target (`|<max_qps>`). */
  readonly maxQps: number;
}

/** One replay server (mirror) or replay target (replay). */
export interface GorTarget {
  readonly host: string;
  readonly port: number;
}

/** What the script runs: gor with `argv`, or the placeholder. */
export interface MirrorCommand {
  readonly kind: "gor" | "fallback";
  /** The command line the script execs, as the running process shows it. */
  readonly argv: readonly string[];
  /** The script's text. */
  readonly script: string;
}

function checkSpec(spec: GorScriptSpec): void {
  if (spec.ports.length === 0) throw new RangeError("gor script: no ports");
  for (const p of spec.ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      throw new RangeError(`gor script: port ${p} is not an integer 1-65535`);
    }
  }
  if (!Number.isInteger(spec.maxQps) || spec.maxQps < 1) {
    throw new RangeError(`gor script: max qps ${spec.maxQps} is not an integer >= 1`);
  }
}

/** Targets in a stable order, without duplicates: a reordered registry is no change. */
function targetWords(targets: readonly GorTarget[], maxQps: number): string[] {
  const keys = new Set(targets.map((t) => endpointKey(t)));
  return [...keys].sort().map((k) => `${k}|${maxQps}`);
}

/**
 * gor's command line for `targets` (empty targets give a command line without outputs:
 * use {@linkcode mirrorCommand}, which falls back to the placeholder).
 *
 * @example
 * ```ts
 * gorArgv(
 *   { mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: "/tmp/mirror_pid", ports: [8080], maxQps: 100 },
 *   [{ host: "10.0.0.1", port: 9000 }],
 * ); // ["/opt/go/bin/gor", "-output-http-stats", "-stats", "--input-raw", ":8080",
 *    //  "--output-tcp", "10.0.0.1:9000|100"]
 * ```
 */
export function gorArgv(spec: GorScriptSpec, targets: readonly GorTarget[]): string[] {
  checkSpec(spec);
  const [input, output] = spec.mode === "mirror"
    ? ["--input-raw", "--output-tcp"]
    : ["--input-tcp", "--output-http"];
  const listen = spec.mode === "mirror" ? "" : "0.0.0.0";
  return [
    spec.gorPath,
    "-output-http-stats",
    "-stats",
    ...spec.ports.flatMap((p) => [input, `${listen}:${p}`]),
    ...targetWords(targets, spec.maxQps).flatMap((t) => [output, t]),
  ];
}

function header(pidPath: string): string {
  return `#!/bin/bash\necho $$ > ${shellWord(pidPath)}\n`;
}

/**
 * The script that execs gor for `targets`. Every value is quoted (see `shell_quote.ts`):
 * a host like `$(reboot)` reaches gor as that literal text and runs nothing.
 */
export function gorScript(spec: GorScriptSpec, targets: readonly GorTarget[]): string {
  const argv = gorArgv(spec, targets);
  // Targets in the original's double quotes; the rest as bare words.
  const words = argv.map((a, i) =>
    i > 0 && argv[i - 1].startsWith("--output-") ? doubleQuotedWord(a) : shellWord(a)
  );
  return `${header(spec.pidPath)}exec ${words.join(" ")}\n`;
}

/**
 * The placeholder script for when there are no targets.
 *
 * @example
 * ```ts
 * fallbackScript("/tmp/mirror_pid").split("\n")[1]; // "echo $$ > /tmp/mirror_pid"
 * ```
 */
export function fallbackScript(pidPath: string): string {
  return `${header(pidPath)}exec ${FALLBACK_ARGV.map(shellWord).join(" ")}\n`;
}

/**
 * The script for `targets`: gor when there are any, the placeholder otherwise.
 *
 * @example
 * ```ts
 * const spec: GorScriptSpec = {
 *   mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: "/tmp/mirror_pid", ports: [8080], maxQps: 100,
 * };
 * mirrorCommand(spec, []).kind; // "fallback"
 * mirrorCommand(spec, [{ host: "10.0.0.1", port: 9000 }]).kind; // "gor"
 * ```
 */
export function mirrorCommand(spec: GorScriptSpec, targets: readonly GorTarget[]): MirrorCommand {
  checkSpec(spec);
  if (targets.length === 0) {
    return { kind: "fallback", argv: FALLBACK_ARGV, script: fallbackScript(spec.pidPath) };
  }
  return { kind: "gor", argv: gorArgv(spec, targets), script: gorScript(spec, targets) };
}
