/**
 * The stand-in for gor in tests (`testing/fake_gor.sh`): where it is, and what each start
 * of it recorded.
 *
 * @module
 */

/** Absolute path of the stand-in, to pass as `--gor-path`. */
export const FAKE_GOR_PATH = new URL("./fake_gor.sh", import.meta.url).pathname;

/** One start of the stand-in: its pid and its arguments (without the program). */
export interface FakeGorStart {
  readonly pid: number;
  readonly args: readonly string[];
}

/** Every start recorded in `dir` (the `FAKE_GOR_DIR` it ran with), oldest first. */
export async function fakeGorStarts(dir: string): Promise<FakeGorStart[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".argv") && !e.name.startsWith(".")) names.push(e.name);
  }
  // Same-length nanosecond stamps: the names sort in start order.
  names.sort();
  return await Promise.all(names.map(async (name) => {
    const text = await Deno.readTextFile(`${dir}/${name}`);
    const args = text.split("\0");
    args.pop();
    return { pid: Number(name.slice(name.indexOf("-") + 1, -".argv".length)), args };
  }));
}

/** True while `pid` is a live process (not gone, not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}
