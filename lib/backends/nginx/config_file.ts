/**
 * Writing the config files so that a failure (a full disk, a quota, an I/O error, a kill)
 * never leaves a partial file under a name nginx or an operator reads: each file is
 * written beside its final name as `<name>.<pid>.<8 hex>.tmp`, synced, then renamed over
 * it; a failed write removes its temp file; temp files of earlier runs (killed between
 * write and rename) are removed at start.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

/** A fresh temp name beside `path`, on the same filesystem so the rename is atomic. */
export function tempPathFor(path: string): string {
  return `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
}

/** Removes a file, ignoring that it is already gone (or cannot be removed: best effort). */
async function discard(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/**
 * Writes `text` to `tmp` (which must not exist) and syncs it to disk, so that a rename
 * makes complete content visible even after a crash. On failure `tmp` is removed and the
 * error rethrown.
 */
export async function writeSynced(tmp: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
    for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
    await file.sync();
  } catch (err) {
    file?.close();
    await discard(tmp);
    throw err;
  }
  file.close();
}

/**
 * Replaces `path` with `text` atomically: readers see the old content or the new one,
 * never part of either. On failure `path` is untouched and no temp file remains.
 */
export async function replaceFile(path: string, text: string): Promise<void> {
  const tmp = tempPathFor(path);
  await writeSynced(tmp, text);
  await Deno.rename(tmp, path).catch(async (err) => {
    await discard(tmp);
    throw err;
  });
}

/**
 * Makes `to` a complete copy of `from`, atomically. A hard link first: it takes no disk
 * space (a full disk cannot truncate it) and, as `from` is only ever replaced by rename,
 * keeps `from`'s content when `from` is replaced. Where links are refused (some network
 * and FUSE filesystems), a synced copy under a temp name, renamed. Throws NotFound when
 * `from` does not exist; `to` is then untouched.
 */
export async function keepCopy(from: string, to: string): Promise<void> {
  const tmp = tempPathFor(to);
  try {
    await Deno.link(from, tmp);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw err;
    await replaceFile(to, await Deno.readTextFile(from));
    return;
  }
  await Deno.rename(tmp, to).catch(async (err) => {
    await discard(tmp);
    throw err;
  });
}

/**
 * Removes the temp files of earlier runs beside `path` (`<name>.<pid>.<hex>.tmp` and
 * `<name>.1.<pid>.<hex>.tmp`, never another name) and returns the names removed. Call it
 * before this process writes any: a temp file of its own would match too.
 */
export async function removeLeftovers(path: string): Promise<string[]> {
  const dir = dirname(path);
  const name = basename(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const ours = new RegExp(`^${name}(\\.1)?\\.\\d+\\.[0-9a-f]{8}\\.tmp$`);
  const removed: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !ours.test(e.name)) continue;
      await Deno.remove(join(dir, e.name)).then(() => removed.push(e.name), () => {});
    }
  } catch {
    // No directory yet (first start): nothing left over.
  }
  return removed;
}
