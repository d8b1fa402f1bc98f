/**
 * Noticing a ZooKeeper server that stopped answering while its TCP connection stays open
 * (a silent network cut). The client library pings, but waits for the replies forever. As
 * the official clients do, a connection that has received nothing for two thirds of the
 * negotiated session timeout (pings go out every third) is declared lost and its socket
 * destroyed, so the library reconnects, possibly to another host, and learns whether the
 * session survived; a server that accepts the connection but does not answer the session
 * handshake in the session timeout divided by the number of hosts is left the same way.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { RawClient } from "./client.ts";

/**
 * A check that fires this late found the process busy (e.g. rendering a large config):
 * bytes that arrived meanwhile may not have been read yet, so it looks again shortly
 * instead of dropping a healthy connection.
 */
const LATE_CHECK_MS = 100;

/** What the watchdog needs of the session it guards. */
export interface LivenessOptions {
  readonly connectString: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The session's current client; a check for any other one is void. */
  readonly current: () => RawClient | undefined;
  /** True while the session is connected (then replies are awaited, not a handshake). */
  readonly connected: () => boolean;
  /** Called when a connected connection is declared lost, before its socket is cut. */
  readonly onLost: () => void;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 * import type { RawClient } from "./client.ts";
 *
 * function guard(client: RawClient) {
 *   let state = "connecting";
 *   const liveness = new LivenessWatchdog({
 *     connectString: "zk1:2181,zk2:2181,zk3:2181",
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *     current: () => client,
 *     connected: () => state === "connected",
 *     onLost: () => (state = "disconnected"),
 *   });
 *   liveness.watch(client, 3); // a new client, over 3 hosts
 *   state = "connected";
 *   liveness.connected(); // on SYNC_CONNECTED
 *   return () => liveness.stop(); // on close
 * }
 * ```
 */
export class LivenessWatchdog {
  readonly #o: LivenessOptions;
  /** When the current client last received bytes from a server. */
  #receivedAt = 0;
  /** When the current connection attempt reached a server that has not answered the handshake yet. */
  #handshakeSince?: number;
  #timer?: TimerId;
  #hosts = 1;

  constructor(opts: LivenessOptions) {
    this.#o = opts;
  }

  /**
   * Starts watching a new client (over `hosts` hosts): learns when its connections receive
   * bytes or reach a server. The library binds these handlers to each new socket, looking
   * them up on the instance, so wrapping them once covers every reconnection.
   */
  watch(client: RawClient, hosts: number): void {
    this.#hosts = Math.max(1, hosts);
    this.#handshakeSince = undefined;
    this.stop();
    const cm = client.connectionManager;
    const onData = cm?.onSocketData;
    const onConnected = cm?.onSocketConnected;
    if (!cm || !onData || !onConnected) return; // Another library version: no liveness check.
    const { clock } = this.#o;
    cm.onSocketData = (buffer) => {
      if (this.#o.current() === client) this.#receivedAt = clock.now();
      onData.call(cm, buffer);
    };
    cm.onSocketConnected = () => {
      // The library keeps an incomplete packet of the previous connection and would glue
      // it to the new server's answer: after a cut mid-packet it would misread everything.
      cm.pendingBuffer = null;
      if (this.#o.current() === client) {
        this.#handshakeSince = this.#o.clock.now();
        this.arm();
      }
      onConnected.call(cm);
    };
  }

  /** The session is (re)connected: replies are due from now on. Call after the state changed. */
  connected(): void {
    this.#handshakeSince = undefined;
    this.#receivedAt = this.#o.clock.now();
    this.arm();
  }

  /** Cancels the pending check (on close, or before a new client). */
  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** (Re)schedules the check for the current connection, at `at` if given. */
  arm(at?: number): void {
    this.stop();
    const client = this.#o.current();
    if (!client) return;
    const due = at ?? this.#due(client);
    if (due === undefined) return;
    const { clock } = this.#o;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#check(client, due);
    }, Math.max(0, due - clock.now()));
  }

  /** When the current connection must next show life, if anything is being waited for. */
  #due(client: RawClient): number | undefined {
    const timeout = client.getSessionTimeout();
    if (this.#o.connected()) return this.#receivedAt + Math.floor((timeout * 2) / 3);
    if (this.#handshakeSince !== undefined) {
      return this.#handshakeSince + Math.floor(timeout / this.#hosts);
    }
    return undefined;
  }

  #check(client: RawClient, scheduledFor: number): void {
    if (this.#o.current() !== client) return;
    const due = this.#due(client);
    if (due === undefined) return;
    const now = this.#o.clock.now();
    if (now < due) return this.arm(); // Heard from the server meanwhile.
    if (now - scheduledFor > LATE_CHECK_MS) return this.arm(now + 20);
    const timeout = client.getSessionTimeout();
    const { logger: log, connectString } = this.#o;
    this.stop();
    if (this.#o.connected()) {
      log.warn(
        `no answer from ${connectString} for ${now - this.#receivedAt} ms ` +
          `(session timeout ${timeout} ms): connection lost; serving last known endpoints`,
      );
      this.#o.onLost();
    } else {
      log.warn(
        `a server of ${connectString} accepted the connection but did not answer ` +
          `the session handshake in ${now - this.#handshakeSince!} ms; trying again`,
      );
    }
    this.#handshakeSince = undefined;
    // The library sees the socket close and reconnects (to the next host, if any).
    try {
      client.connectionManager?.socket?.destroy();
    } catch {
      // Already destroyed.
    }
  }
}
