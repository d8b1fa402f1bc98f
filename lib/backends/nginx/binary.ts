/**
 * The nginx executable: where it is, what it was built with, and `nginx -t` (also as the
 * check of a swap: {@linkcode swapTested}).
 *
 * @module
 */

import { dirname } from "node:path";
import type { ValidationResult } from "../backend.ts";
import { keepCopy, tempPathFor, writeSynced } from "./config_file.ts";

export interface NginxBinary {
  /** Absolute path or name found in PATH. */
  readonly path: string;
  /** Path of the stream module when nginx was built with `--with-stream=dynamic`. */
  readonly streamModulePath?: string;
  /**
   * The compiled-in `--prefix` and `--conf-path` (`nginx -V`): what a master started
   * without `-p` or `-c` uses, to tell which file it runs.
   */
  readonly prefix?: string;
  readonly confPath?: string;
}

/**
 * Finds nginx: the configured name or path; a bare name falls back to /usr/sbin, which is
 * where Debian installs it and is often missing from a non-root PATH.
 */
export function resolveNginx(binary: string): NginxBinary {
  const candidates = binary.includes("/") ? [binary] : [binary, `/usr/sbin/${binary}`];
  for (const path of candidates) {
    try {
      const out = new Deno.Command(path, { args: ["-V"], stdout: "piped", stderr: "piped" })
        .outputSync();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      const modules = /--modules-path=(\S+)/.exec(text)?.[1] ?? "/usr/lib/nginx/modules";
      const dynamic = /--with-stream=dynamic/.test(text);
      return {
        path,
        streamModulePath: dynamic ? `${modules}/ngx_stream_module.so` : undefined,
        prefix: /--prefix=(\S+)/.exec(text)?.[1],
        confPath: /--conf-path=(\S+)/.exec(text)?.[1],
      };
    } catch {
      // Not found there: try the next candidate.
    }
  }
  return { path: binary };
}

/**
 * Runs `nginx -t -c <file>` (with `-p <prefix>` when set). The error is nginx's own text.
 *
 * @example
 * ```ts
 * const r = await testConfig(resolveNginx("nginx"), "/tmp/nginx.conf.new");
 * if (!r.ok) console.error(r.error);
 * ```
 */
export async function testConfig(
  bin: NginxBinary,
  file: string,
  prefix?: string,
): Promise<ValidationResult> {
  const args = ["-t", "-q", "-c", file, ...(prefix ? ["-p", prefix] : [])];
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin.path, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    return { ok: false, error: `cannot run ${bin.path}: ${(err as Error).message}` };
  }
  if (out.success) return { ok: true };
  const text = new TextDecoder().decode(out.stderr).trim() ||
    new TextDecoder().decode(out.stdout).trim() || `exit code ${out.code}`;
  return { ok: false, error: text };
}

/**
 * Writes `text` beside `file` (synced), has `nginx -t` test it and only when it passes
 * renames it over `file`, after keeping the live file as `<file>.1` when `keepPrevious`
 * (the last config nginx ran, not one it never loaded). `file` is never a config nginx
 * refuses, nor partial. A failed write or rename throws, with no temp file left.
 *
 * @example
 * ```ts ignore
 * const r = await swapTested(resolveNginx("nginx"), "/etc/nginx/nginx.conf", text, {
 *   keepPrevious: true,
 * });
 * ```
 */
export async function swapTested(
  bin: NginxBinary,
  file: string,
  text: string,
  o: {
    readonly prefix?: string;
    readonly keepPrevious: boolean;
    /** Step timestamps (`written`, `validated`, `renamed`) for bench/discovery. */
    readonly trace?: (step: string) => void;
  },
): Promise<ValidationResult> {
  await Deno.mkdir(dirname(file), { recursive: true });
  if (o.prefix) await Deno.mkdir(`${o.prefix}/temp`, { recursive: true });
  const tmp = tempPathFor(file);
  let renamed = false;
  try {
    await writeSynced(tmp, text);
    o.trace?.("written");
    const tested = await testConfig(bin, tmp, o.prefix);
    if (!tested.ok) return tested;
    o.trace?.("validated");
    if (o.keepPrevious) {
      // Gone meanwhile (removed by hand): then there is nothing to keep.
      await keepCopy(file, `${file}.1`).catch((err) => {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      });
    }
    await Deno.rename(tmp, file);
    renamed = true;
    o.trace?.("renamed");
    return tested;
  } finally {
    if (!renamed) await Deno.remove(tmp).catch(() => {});
  }
}
