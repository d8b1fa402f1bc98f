/**
 * Writes an executable script atomically: a reader (bash starting the script, a Thermos
 * restart racing an update) sees the old file or the new one, never half of one. bash
 * reads a script as it runs it, so rewriting one in place could change the lines of a
 * running copy under its feet; a rename leaves the running copy its old file.
 *
 * @module
 */

import { dirname } from "node:path";

/** Mode of the script: the owner may write it, everyone may run it. */
export const SCRIPT_MODE = 0o755;

/** How the write went: `unchanged` when the file already held exactly this text. */
export type ScriptWriteResult = "written" | "unchanged";

/** Where scripts go; an interface so the updater is tested with a failing disk too. */
export type ScriptWriter = (path: string, text: string) => Promise<ScriptWriteResult>;

async function current(path: string): Promise<{ text: string; mode: number } | undefined> {
  try {
    const [text, info] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    return { text, mode: (info.mode ?? 0) & 0o777 };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/**
 * Writes `text` to `path` with mode 755: to a temporary file in the same directory,
 * flushed to disk, then renamed over `path` (the directory is flushed too, so the rename
 * survives a crash). The temporary file never outlives the call, whatever fails. A file
 * that already holds `text` with mode 755 is left alone. Creates the directory if needed.
 *
 * @example
 * ```ts
 * await writeScriptAtomically("/etc/aurproxy/gor/dynamic.sh", "#!/bin/bash\n..."); // "written"
 * ```
 */
export const writeScriptAtomically: ScriptWriter = async (path, text) => {
  const before = await current(path);
  if (before && before.text === text && before.mode === SCRIPT_MODE) return "unchanged";
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const base = path.slice(dir.length + 1);
  const tmp = `${dir}/.${base}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: SCRIPT_MODE });
    try {
      const bytes = new TextEncoder().encode(text);
      // write() may write less than asked: loop until all of it is down.
      for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
      await file.sync();
    } finally {
      file.close();
    }
    // The umask may have taken bits from the mode given at creation.
    await Deno.chmod(tmp, SCRIPT_MODE);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
  return "written";
};

async function syncDir(dir: string): Promise<void> {
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself has happened.
  }
}
