/**
 * The haproxy executable and its own check of a config (`haproxy -c -f FILE`), which
 * parses everything and binds nothing: it touches no live file or process; and the swap
 * of a checked config into place.
 *
 * @module
 */

import { dirname } from "node:path";
import type { ValidationResult } from "../backend.ts";
import { tempPathFor, writeSynced } from "../nginx/config_file.ts";

/**
 * Finds haproxy: a path as given; a bare name in PATH, then /usr/sbin (Debian installs it
 * there, outside a normal user's PATH).
 *
 * @example
 * ```ts ignore
 * resolveHaproxy("haproxy"); // "/usr/sbin/haproxy"
 * ```
 */
export function resolveHaproxy(binary: string): string {
  if (binary.includes("/")) return binary;
  const dirs = [...(Deno.env.get("PATH") ?? "").split(":").filter(Boolean), "/usr/sbin"];
  for (const d of dirs) {
    try {
      if (Deno.statSync(`${d}/${binary}`).isFile) return `${d}/${binary}`;
    } catch { /* not here */ }
  }
  return binary;
}

/** Runs `haproxy -c -q -f file`; its messages are the error when it refuses. */
export async function checkConfig(binary: string, file: string): Promise<ValidationResult> {
  const out = await new Deno.Command(binary, {
    args: ["-c", "-f", file],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return { ok: true };
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  const lines = text.split("\n").filter((l) => /\[(ALERT|WARNING)\]/.test(l) || /error/i.test(l));
  return { ok: false, error: (lines.length ? lines : text.split("\n")).join("\n").trim() };
}

/**
 * Writes `text` beside `file` (synced), has `haproxy -c` check it, and renames it over
 * `file` only when it passes: `file` is never a config HAProxy refuses, nor partial. A
 * failed write or rename throws, with no temp file left.
 */
export async function swapChecked(
  binary: string,
  file: string,
  text: string,
): Promise<ValidationResult> {
  const tmp = tempPathFor(file);
  await Deno.mkdir(dirname(file), { recursive: true });
  await writeSynced(tmp, text);
  try {
    const checked = await checkConfig(binary, tmp).catch((err) => ({
      ok: false as const,
      error: `cannot run ${binary}: ${err.message}`,
    }));
    if (!checked.ok) return checked;
    await Deno.rename(tmp, file);
    return checked;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}
