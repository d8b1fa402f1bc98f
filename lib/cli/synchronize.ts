/**
 * `aurproxy synchronize`: registers a job's instances (the hosts of a source's endpoints)
 * with ELBs, target groups or a Route 53 record set, and (with `remove_other_instances`)
 * removes the others; a cron's safety net for self registration, as in the original.
 *
 * ```
 * aurproxy synchronize --registration-source='<source JSON>' \
 *   --registration-class=tellapart.aurproxy.register.elb.ElbJobRegisterer \
 *   --registration-arg=region=us-east-1 --registration-arg=elb_names=MyElb \
 *   --registration-arg=remove_other_instances=false [--write] [--output=json] [--remove-last]
 * ```
 *
 * Output: one line per decision on stdout (see `lib/register/report.ts`), or one JSON
 * document with `--output=json`. Exit 0 when every decided change was made (or, without
 * `--write`, when everything could be decided); 1 when the source could not be read, an
 * AWS call failed or a decision carried an error; 2 for usage errors.
 *
 * @module
 */

import { systemClock } from "../clock.ts";
import { UsageError } from "../errors.ts";
import { consoleLogger, type Logger } from "../log.ts";
import { MetricsRegistry } from "../metrics/registry.ts";
import { parseRegistrationArgs } from "../register/args.ts";
import { createJobRegisterer, type RegistererDeps } from "../register/factory.ts";
import type { SyncReport } from "../register/job_registerer.ts";
import {
  parseRegistrationSource,
  readSourceHostsOnce,
  SourceUnreadableError,
} from "../register/job_source.ts";
import { registererKind } from "../register/kinds.ts";
import { RegistrationError } from "../register/registerer.ts";
import { formatOutcome, outcomeJson } from "../register/report.ts";
import type { SourceConfig } from "../model/config.ts";
import { type FlagValues, numberFlag, requireString } from "./flags.ts";
import { logLevel } from "./run_options.ts";

const OUTPUTS = ["table", "json"] as const;

/** What `synchronize` reads and writes through; tests may replace any of it. */
export interface SynchronizeDeps {
  /** Reads the source's hosts once; default {@linkcode readSourceHostsOnce}. */
  readonly readHosts?: (config: SourceConfig, logger: Logger) => Promise<readonly string[]>;
  /** AWS client bounds and instance metadata for the registerer. */
  readonly registerer?: Omit<RegistererDeps, "logger">;
  /** Where decisions go; default stdout. */
  readonly out?: (line: string) => void;
  /** Where errors go; default stderr. */
  readonly err?: (line: string) => void;
  /** The command's logger (`--log-format`, Sentry); default: stderr at `--log-level`. */
  readonly logger?: Logger;
}

/**
 * Runs `synchronize` with parsed flags; resolves with the exit code. Usage errors are
 * thrown (the CLI prints them and exits 2).
 *
 * @example
 * ```ts
 * import { parseFlags, SYNCHRONIZE_FLAGS } from "./flags.ts";
 *
 * // Reads the registry and writes to AWS: declared here, not run.
 * async function main(args: string[]): Promise<number> {
 *   return await runSynchronize(parseFlags(args, SYNCHRONIZE_FLAGS));
 * }
 * ```
 */
export async function runSynchronize(v: FlagValues, deps: SynchronizeDeps = {}): Promise<number> {
  const out = deps.out ?? ((l: string) => console.log(l));
  const err = deps.err ?? ((l: string) => console.error(l));
  const level = logLevel(v);
  const output = String(v.output);
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError("--output", `expected table or json, got ${output}`);
  }
  const zkSessionTimeoutMs =
    numberFlag(v, "zk-session-timeout-seconds", { min: 0.1, fractional: true }) * 1000;
  const source = parseRegistrationSource(requireString(v, "registration-source"));
  const kind = registererKind(requireString(v, "registration-class"), "job");
  const args = parseRegistrationArgs(kind, (v["registration-arg"] as string[] | undefined) ?? []);
  const write = v.write === true;
  const removeLast = v["remove-last"] === true;
  const log = deps.logger ?? consoleLogger({ level, component: "aurproxy" });
  for (const w of args.warnings) log.warn(w);
  const readHosts = deps.readHosts ??
    ((c: SourceConfig, l: Logger) =>
      readSourceHostsOnce(c, {
        clock: systemClock,
        logger: l,
        metrics: new MetricsRegistry("aurproxy"),
        zkSessionTimeoutMs,
      }));
  const fail = (message: string): number => {
    err(`aurproxy synchronize: ${message}`);
    if (output === "json") out(JSON.stringify({ ok: false, write, error: message, decisions: [] }));
    return 1;
  };

  let hosts: readonly string[];
  try {
    hosts = await readHosts(source, log);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = e instanceof SourceUnreadableError ? e.message : (e as Error).message;
    return fail(`registration source could not be read, nothing changed: ${why}`);
  }
  const job = createJobRegisterer(args, { ...deps.registerer, logger: log.child("register") });
  let report: SyncReport;
  try {
    report = await job.synchronize(hosts, { write, removeLast });
  } catch (e) {
    if (!(e instanceof RegistrationError)) throw e;
    return fail(e.message);
  } finally {
    job.close();
  }
  if (output === "json") {
    out(JSON.stringify({
      ok: report.ok,
      write,
      registerer: kind.canonical,
      hosts,
      decisions: report.outcomes.map(outcomeJson),
    }));
  } else {
    for (const o of report.outcomes) out(formatOutcome(o));
  }
  const count = (a: string) => report.outcomes.filter((o) => o.action === a).length;
  const failed = report.outcomes.filter((o) => o.result === "failed").length;
  err(
    `aurproxy synchronize: ${hosts.length} host(s), ${report.outcomes.length} decision(s): ` +
      `${count("REGISTER")} REGISTER, ${count("REMOVE")} REMOVE, ${count("NONE")} NONE; ` +
      `${write ? "written" : "dry run (--write makes the changes)"}` +
      (failed ? `; ${failed} FAILED` : ""),
  );
  return report.ok ? 0 : 1;
}
