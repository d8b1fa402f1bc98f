/**
 * The backend-agnostic part of `run --supervise`: the running proxy process follows the
 * graph a SIGHUP swaps in (its backend adopts the process), and stopping it is a step of
 * the shutdown's `stop_children` phase, after deregistration and the pipeline's flush.
 * What starting, reloading and stopping mean is the backend's (`ProxyBackend.start`).
 *
 * @module
 */

import type { ProxyBackend } from "../backends/backend.ts";
import type { ShutdownSequence } from "../lifecycle/shutdown.ts";
import type { Graph } from "./run.ts";

/**
 * Bound on the stop step. The backend's `stop` bounds itself (SIGKILL to the proxy's
 * group at its deadline, `worker_shutdown_timeout` for nginx); this only keeps a stuck
 * step from holding the process forever.
 */
const STOP_STEP_TIMEOUT_MS = 10 * 60_000;

/**
 * Adds "stop the proxy" to `shutdown`'s `stop_children` phase: `current()` is the backend
 * of whichever graph runs then.
 *
 * @example
 * ```ts
 * import { ShutdownSequence } from "../lifecycle/shutdown.ts";
 * import { memoryLogger } from "../log.ts";
 * import type { ProxyBackend } from "../backends/backend.ts";
 *
 * function wire(backend: ProxyBackend) {
 *   const shutdown = new ShutdownSequence({ logger: memoryLogger() });
 *   addProxyStop(shutdown, () => backend);
 *   return shutdown.steps(); // [{ phase: "stop_children", name: "proxy" }]
 * }
 * ```
 */
export function addProxyStop(shutdown: ShutdownSequence, current: () => ProxyBackend): void {
  shutdown.add("stop_children", "proxy", () => current().stop?.(), {
    timeoutMs: STOP_STEP_TIMEOUT_MS,
  });
}

/**
 * A graph built on SIGHUP whose backend, when supervising, has taken over the running
 * proxy from `previous()`; when it cannot, the graph is closed and the build fails (the
 * running config stays, with the reason logged).
 */
export async function adopting(
  supervise: boolean,
  previous: () => ProxyBackend,
  building: Promise<Graph>,
): Promise<Graph> {
  const graph = await building;
  if (!supervise) return graph;
  const why = graph.backend.adopt
    ? graph.backend.adopt(previous())
    : `the ${graph.backend.name} backend cannot take over the running proxy`;
  if (why === undefined) return graph;
  await graph.close();
  throw new Error(why);
}
