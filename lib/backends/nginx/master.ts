/**
 * Which process the pid file names, and whether it is one aurproxy may signal: an nginx
 * master running aurproxy's `configuration_file`. The pid file is not to be trusted: a
 * stale one names whatever process got that pid since (a `sleep` SIGHUP kills); a stock
 * nginx started on its own file (`nginx -c /etc/nginx/nginx.conf`) writes the same pid
 * file and would "confirm" every reload while clients get the other config.
 *
 * The file a master runs comes from its title, `nginx: master process <argv>`, resolved
 * as nginx resolves it: `-c FILE` relative to the prefix, the prefix being `-p DIR`
 * (relative to the master's working directory) or the compiled-in `--prefix`; no `-c`:
 * the compiled-in `--conf-path`. Symlinks count as the file they point to (the original's
 * image linked /etc/nginx/nginx.conf to /etc/aurproxy/nginx/nginx.conf).
 *
 * @module
 */

import { resolve } from "node:path";
import type { NginxBinary } from "./binary.ts";
import { type ProcInfo, readProc } from "./process.ts";

const MASTER = "nginx: master process ";

/**
 * The command line nginx put in a master's title, or undefined when `title` is not an
 * nginx master's. nginx joined its arguments with single spaces: an argument with a space
 * in it (a `-g` value) comes back as several.
 */
export function masterArgv(title: string): string[] | undefined {
  if (!title.startsWith(MASTER)) return undefined;
  return title.slice(MASTER.length).split(" ").filter(Boolean);
}

/** nginx's compiled-in defaults, from `nginx -V`. */
export interface NginxDefaults {
  readonly prefix?: string;
  readonly confPath?: string;
}

/**
 * The config file a master started with `argv` runs, from `cwd` (its working directory).
 * Options follow nginx's own grammar: letters may be bundled (`-tqc FILE`), and `-c`,
 * `-p`, `-g`, `-s`, `-e` take the rest of the word or the next word.
 *
 * @example
 * ```ts
 * configFileOf(["nginx", "-p", "/srv/", "-c", "conf/nginx.conf"], "/", {}); // "/srv/conf/nginx.conf"
 * ```
 */
export function configFileOf(argv: readonly string[], cwd: string, d: NginxDefaults): string {
  let conf: string | undefined;
  let prefix: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("-")) continue;
    for (let j = 1; j < a.length; j++) {
      const o = a[j];
      if (!"cpgse".includes(o)) continue;
      let v = j + 1 < a.length ? a.slice(j + 1) : argv[++i] ?? "";
      // A -g value was split at its spaces; it ends at its last ";" or "}".
      if (o === "g") { while (!/[;}]$/.test(v) && i + 1 < argv.length) v += ` ${argv[++i]}`; }
      if (o === "c") conf = v;
      if (o === "p") prefix = v;
      break;
    }
  }
  const base = prefix === undefined ? (d.prefix ?? "/usr/local/nginx") : resolve(cwd, prefix);
  return resolve(base, conf ?? d.confPath ?? "conf/nginx.conf");
}

/** What the pid file led to. */
export type MasterCheck =
  /** No pid in the file (missing, empty, not a number). */
  | { readonly kind: "no_pid"; readonly detail: string }
  /** The pid names no running process. */
  | { readonly kind: "gone"; readonly pid: number }
  /** A process that is not an nginx master: never to be signalled. */
  | { readonly kind: "not_master"; readonly proc: ProcInfo }
  /** An nginx master running another file: signalling it would reload that file. */
  | { readonly kind: "other_config"; readonly proc: ProcInfo; readonly runs: string }
  /** The nginx master running `configuration_file`. */
  | { readonly kind: "ours"; readonly proc: ProcInfo };

function realPath(p: string): string | undefined {
  try {
    return Deno.realPathSync(p);
  } catch {
    return undefined;
  }
}

/** True when `runs` (as read from the master's title) is `ours`. */
function sameFile(runs: string, ours: string): boolean {
  if (runs === resolve(ours)) return true;
  const a = realPath(runs);
  const b = realPath(ours);
  if (a !== undefined) return a === b;
  // Not found: either a file deleted since, or a title nginx had to cut (it only has the
  // room of its original argv and environment; a master started with an empty
  // environment loses the end of a long path). A cut is a prefix of what it was.
  return runs.length > 1 && (resolve(ours).startsWith(runs) || (b?.startsWith(runs) ?? false));
}

/** Reads the pid file (synchronously: also used by /health). */
export function readPidFile(pidPath: string): number | string {
  let text: string;
  try {
    text = Deno.readTextFileSync(pidPath);
  } catch (err) {
    return err instanceof Deno.errors.NotFound
      ? `there is no ${pidPath}`
      : `${pidPath} cannot be read: ${(err as Error).message}`;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : `${pidPath} holds no pid`;
}

/**
 * Looks at the process the pid file names. Throws {@linkcode ProcAccessError} when Deno
 * may not read /proc.
 */
export function inspectMaster(
  pidPath: string,
  configurationFile: string,
  bin: Pick<NginxBinary, "prefix" | "confPath">,
): MasterCheck {
  const pid = readPidFile(pidPath);
  if (typeof pid === "string") return { kind: "no_pid", detail: pid };
  const proc = readProc(pid);
  if (!proc) return { kind: "gone", pid };
  const argv = masterArgv(proc.title);
  if (!argv) return { kind: "not_master", proc };
  let cwd = "/";
  try {
    cwd = Deno.readLinkSync(`/proc/${pid}/cwd`);
  } catch {
    // Exited meanwhile, or not ours to read: a relative -p is then taken from /.
  }
  const runs = configFileOf(argv, cwd, bin);
  return sameFile(runs, configurationFile)
    ? { kind: "ours", proc }
    : { kind: "other_config", proc, runs };
}

/**
 * Why the check forbids a reload, as one sentence for the log and /health, saying what
 * to do; undefined for our master.
 */
export function whyNotOurs(
  check: MasterCheck,
  o: { readonly pidPath: string; readonly configurationFile: string },
): string | undefined {
  const file = o.configurationFile;
  switch (check.kind) {
    case "ours":
      return undefined;
    case "no_pid":
      return `nginx is not running: ${check.detail}; start it with nginx -c ${file}`;
    case "gone":
      return `nginx is not running: pid ${check.pid} from ${o.pidPath} has exited; start it ` +
        `with nginx -c ${file}`;
    case "not_master":
      return `pid ${check.proc.pid} in ${o.pidPath} is not an nginx master ` +
        `(it is "${check.proc.title.slice(0, 80)}"), so it was not signalled: nginx is not ` +
        `running, or writes its pid elsewhere (the config's "pid" is nginx_pid_path)`;
    case "other_config":
      return `nginx (pid ${check.proc.pid}) runs ${check.runs}, but aurproxy writes ${file}, ` +
        `so it was not signalled and serves a config aurproxy does not manage: start it with ` +
        `nginx -c ${file}, or make its file a link to aurproxy's ` +
        `(ln -sf ${file} ${check.runs}, as the original's image did)`;
  }
}
