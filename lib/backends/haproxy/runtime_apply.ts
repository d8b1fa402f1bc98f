/**
 * Applying a slot layout change through the runtime API: the `set server` commands in one
 * batch, then `show servers state` of the backends changed, read back and compared with
 * the layout. Anything but a full match is a reason to reload instead.
 *
 * @module
 */

import type { RuntimeApi } from "./runtime_api.ts";
import { failuresOf } from "./runtime_api.ts";
import { runtimeCommands, stateDifferences } from "./runtime_changes.ts";
import type { SlotLayout } from "./slots.ts";

/**
 * Takes HAProxy from layout `from` (what it runs) to `to` (same structure). Undefined when
 * applied and read back as meant; otherwise why not (a refused command, an unreachable
 * socket, a state that differs). Never throws.
 *
 * @example
 * ```ts ignore
 * const why = await applyAtRuntime(api, running, planned);
 * if (why !== undefined) console.log(`reloading instead: ${why}`);
 * ```
 */
export async function applyAtRuntime(
  api: RuntimeApi,
  from: SlotLayout,
  to: SlotLayout,
): Promise<string | undefined> {
  const commands = runtimeCommands(from, to);
  const touched = new Set(commands.map((c) => /^set server ([^/]+)\//.exec(c)?.[1] ?? ""));
  try {
    const failed = failuresOf(await api.batch(commands));
    if (failed.length) {
      return `HAProxy refused ${failed[0].command}: ${failed[0].failure}` +
        (failed.length > 1 ? ` (and ${failed.length - 1} more)` : "");
    }
    // Only the backends changed are read back (all of them is a line per server of every one).
    const state = touched.size <= 4
      ? (await Promise.all([...touched].map((b) => api.showServersState(b)))).flat()
      : await api.showServersState();
    const diff = stateDifferences(to, state, touched);
    return diff.length ? `HAProxy's state differs: ${diff.slice(0, 3).join("; ")}` : undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
