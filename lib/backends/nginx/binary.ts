/**
 * The nginx executable: where it is, what it was built with, and `nginx -t`.
 *
 * @module
 */

import type { ValidationResult } from "../backend.ts";

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
