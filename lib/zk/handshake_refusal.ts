/**
 * Noticing an ensemble that refuses this session. A ZooKeeper server refuses a client
 * that has seen a newer transaction than the server has ("Refusing session request for
 * client ... as it has seen zxid 0x… our last zxid is 0x… client must try another server"
 * in the server's log): it reads the handshake and closes the connection without a word.
 * That is what an ensemble rebuilt empty, or restored from an old snapshot, does to every
 * client that knew the old one, on every attempt, forever: the client library retries the
 * same handshake (with the same last zxid) every few hundred milliseconds and raises no
 * event, so the session never recovers and nothing new is ever read.
 *
 * Seen from the client, a refusal is a connection the server accepted and then closed
 * (an end of stream, not a local destroy) before answering the handshake, by a client
 * that has seen a zxid at all (a fresh client, at zxid 0, is never refused for this). Once
 * every host has refused in a row (at least 3 attempts), the session is beyond saving and
 * the owner starts a fresh one. A false alarm (servers closing connections while they
 * start) costs a re-read on a new session, nothing more.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { RawClient } from "./client.ts";

/** The library's `ConnectionManager.STATES.CONNECTING`: waiting for the handshake's answer. */
const CONNECTING = 1;

/** Refused handshakes in a row, at the least, before the session is given up. */
const MIN_REFUSALS = 3;

/** What the watch needs of the session it guards. */
export interface HandshakeRefusalOptions {
  readonly connectString: string;
  readonly logger: Logger;
  /** The session's current client; events of any other one are ignored. */
  readonly current: () => RawClient | undefined;
  /**
   * Called once per client when the ensemble has refused its session on every host in a
   * row: the owner drops the client and starts a fresh session.
   */
  readonly onRefused: (client: RawClient, attempts: number) => void;
}

/** One connection attempt, from the socket connecting to it closing. */
interface Attempt {
  answered: boolean;
}

/**
 * @example
 * ```ts
 * import { consoleLogger } from "../log.ts";
 * import type { RawClient } from "./client.ts";
 *
 * function guard(client: RawClient, rebuild: () => void) {
 *   const refusals = new HandshakeRefusalWatch({
 *     connectString: "zk1:2181,zk2:2181",
 *     logger: consoleLogger(),
 *     current: () => client,
 *     onRefused: () => rebuild(),
 *   });
 *   refusals.watch(client, 2); // a new client, over 2 hosts
 *   refusals.connected(); // on SYNC_CONNECTED: the count starts again
 * }
 * ```
 */
export class HandshakeRefusalWatch {
  readonly #o: HandshakeRefusalOptions;
  #inARow = 0;
  #needed = MIN_REFUSALS;
  #attempt?: Attempt;

  constructor(opts: HandshakeRefusalOptions) {
    this.#o = opts;
  }

  /**
   * Starts watching a new client's connection attempts (over `hosts` hosts). Like the
   * liveness watchdog, it wraps the library's socket handlers on the instance, which the
   * library looks up at every connection.
   */
  watch(client: RawClient, hosts: number): void {
    this.#inARow = 0;
    this.#needed = Math.max(MIN_REFUSALS, hosts);
    this.#attempt = undefined;
    const cm = client.connectionManager;
    const onData = cm?.onSocketData;
    const onConnected = cm?.onSocketConnected;
    if (!cm || !onData || !onConnected) return; // Another library version: not watched.
    cm.onSocketData = (buffer) => {
      if (this.#attempt) this.#attempt.answered = true;
      onData.call(cm, buffer);
    };
    cm.onSocketConnected = () => {
      const attempt: Attempt = { answered: false };
      this.#attempt = attempt;
      // The library does not listen for the end of stream; a refusal is exactly that.
      cm.socket?.once?.("end", () => this.#ended(client, attempt));
      onConnected.call(cm);
    };
  }

  /** The session is (re)connected: refusals count from zero again. */
  connected(): void {
    this.#inARow = 0;
  }

  #ended(client: RawClient, attempt: Attempt): void {
    const cm = client.connectionManager;
    if (this.#o.current() !== client || !cm || attempt.answered) return;
    if (cm.state !== CONNECTING) return;
    // A client that has seen nothing is not refused for having seen too much.
    if (!cm.zxid || cm.zxid.every((b) => b === 0)) return;
    this.#inARow++;
    if (this.#inARow < this.#needed) return;
    const zxid = `0x${BigInt(`0x${cm.zxid.toString("hex")}`).toString(16)}`;
    this.#o.logger.warn(
      `every server of ${this.#o.connectString} refused this session ${this.#inARow} times in a ` +
        `row, closing the connection before answering the handshake: the ensemble has not seen ` +
        `zxid ${zxid}, which this session has (rebuilt or restored from an old snapshot?); ` +
        `dropping it and starting a fresh session`,
    );
    const attempts = this.#inARow;
    this.#inARow = 0;
    this.#o.onRefused(client, attempts);
  }
}
