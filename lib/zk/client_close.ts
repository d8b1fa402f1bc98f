/**
 * Closing a client of the ZooKeeper library for good, whatever the network does. The
 * library sends a close request and waits for the server's answer; with the network cut
 * that wait never ends and its socket (and, while connecting, a timer) stays alive.
 *
 * @module
 */

import { CONNECTION_CLOSED, type RawClient } from "./client.ts";

/** How long the library may say goodbye before its socket is cut. */
const GRACEFUL_CLOSE_MS = 400;

/**
 * Closes `client` and resolves once it has released its socket and timers. After a grace
 * period the socket is destroyed (the library then settles into its closed state without
 * reconnecting). Real timers on purpose: the socket lives in real time whatever clock the
 * session was given.
 *
 * @example
 * ```ts
 * import type { RawClient } from "./client.ts";
 *
 * async function retire(client: RawClient) {
 *   await closeClient(client); // prompt even during a network cut
 * }
 * ```
 */
export async function closeClient(client: RawClient): Promise<void> {
  const cm = client.connectionManager;
  if (cm?.state === CONNECTION_CLOSED) return;
  try {
    client.close();
  } catch {
    // Closing before the first connect attempt began: the socket is destroyed below.
  }
  if (!cm) return;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + GRACEFUL_CLOSE_MS;
  while (cm.state !== CONNECTION_CLOSED && Date.now() < deadline) await pause(10);
  if (cm.state === CONNECTION_CLOSED) return;
  // A connect attempt in progress keeps a timer the library clears only on connect/error.
  if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
  try {
    cm.socket?.destroy();
  } catch {
    // Already destroyed.
  }
  const hardDeadline = Date.now() + GRACEFUL_CLOSE_MS;
  while (cm.state !== CONNECTION_CLOSED && Date.now() < hardDeadline) await pause(10);
}
