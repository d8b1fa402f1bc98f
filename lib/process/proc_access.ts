/**
 * Whether Deno lets aurproxy read /proc, which it needs to see the proxy's processes, the
 * mirror's and its own. Deno refuses every read under /proc unless it runs with
 * `--allow-all` (a `--allow-read` of any scope is not enough); that is reported as
 * {@linkcode ProcAccessError}, never mistaken for "no such process".
 *
 * @module
 */

/** Deno's permissions forbid reading /proc: aurproxy cannot see the proxy at all. */
export class ProcAccessError extends Error {
  constructor(path: string) {
    super(
      `aurproxy may not read ${path}: Deno allows reads under /proc only with --allow-all; ` +
        `run aurproxy with -A (deno run -A ...), as documented`,
    );
    this.name = "ProcAccessError";
  }
}

/**
 * Throws {@linkcode ProcAccessError} unless this process may read /proc. Deno's own
 * permission query answers "granted" where the read then fails, so this reads.
 *
 * @example
 * ```ts
 * assertProcReadable(); // throws ProcAccessError without -A
 * ```
 */
export function assertProcReadable(): void {
  readProcFile(`/proc/${Deno.pid}/stat`);
}

/**
 * A file under /proc, or undefined when it is gone (the process exited). Throws
 * {@linkcode ProcAccessError} when Deno may not read it.
 *
 * @example
 * ```ts
 * readProcFile(`/proc/${Deno.pid}/stat`)?.startsWith(`${Deno.pid} `); // true
 * ```
 */
export function readProcFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw new ProcAccessError(path);
    return undefined;
  }
}
