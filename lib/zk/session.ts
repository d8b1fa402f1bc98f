/**
 * One ZooKeeper session per ensemble, shared by every source that names it: its state,
 * and its rebuild after expiry or when every server refuses it.
 *
 * The client library reconnects by itself after a connection loss (same session), but
 * after the session expires it never recovers and pending calls hang. So: on expiry the
 * old client is closed ({@linkcode closeClient}) and a new one built; every operation is
 * bounded ({@linkcode BoundedCalls}) and fails at once when its client is replaced or the
 * session closed; and subscribers hear about every (re)connection so they re-read and
 * re-watch their paths. A connection that went silent is noticed by the
 * {@linkcode LivenessWatchdog}; an ensemble that refuses the session on every attempt (it
 * was rebuilt, or restored from an old snapshot, and has not seen what the session has)
 * by the {@linkcode HandshakeRefusalWatch}, and a fresh session is started then too. The
 * operations themselves are in {@linkcode ZkOperations}.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { ChangeSignal, type Unsubscribe } from "../lifecycle/signal.ts";
import { BoundedCalls, type ClientCall } from "./bounded_call.ts";
import { type RawClient, zk } from "./client.ts";
import { closeClient } from "./client_close.ts";
import { HandshakeRefusalWatch } from "./handshake_refusal.ts";
import { shuffleHosts } from "./hosts.ts";
import { LivenessWatchdog } from "./liveness.ts";
import { ZkOpError } from "./op_error.ts";
import { ZkOperations } from "./operations.ts";
import type { ZkReader, ZkState } from "./reader.ts";

export type { ZkState } from "./reader.ts";
// Where they were declared before the split; code importing them from here keeps working.
export { isNoNode, type ZkOpCode, ZkOpError } from "./op_error.ts";
export { shuffleHosts } from "./hosts.ts";

/** How a session connects and bounds its calls. */
export interface ZkSessionOptions {
  /** Asked of the server; the server clamps it to its min/max session timeout. */
  readonly sessionTimeoutMs: number;
  /**
   * Operations sent at once on this session (default 128). Starting 50 watches of 40
   * members each would otherwise put 2,000 reads and their buffers in flight together.
   */
  readonly maxInFlight?: number;
  /** Bound on one operation (default: the session timeout, at least 1 s). */
  readonly opTimeoutMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For tests: how hosts are shuffled. */
  readonly random?: () => number;
}

/**
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 *
 * async function listJob(reread: () => void) {
 *   const s = new ZkSession("127.0.0.1:2181", {
 *     sessionTimeoutMs: 30_000,
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *   });
 *   s.onConnect(reread); // re-read and re-watch on every (re)connection
 *   const children = await s.getChildren("/aurora/www-data/prod/web", reread);
 *   await s.close();
 *   return children;
 * }
 * ```
 */
export class ZkSession extends ZkOperations implements ZkReader {
  readonly connectString: string;
  readonly #o: ZkSessionOptions;
  readonly #connected = new ChangeSignal();
  readonly #calls: BoundedCalls;
  readonly #liveness: LivenessWatchdog;
  readonly #refusalWatch: HandshakeRefusalWatch;
  #client?: RawClient;
  #generation = 0;
  #state: ZkState = "connecting";
  #stateSince: number;
  #lastEventAt: number;
  #expirations = 0;
  #refusals = 0;
  #readyWaiters: (() => void)[] = [];
  /** Old clients still shutting down; `close()` waits for them. */
  readonly #shutdowns = new Set<Promise<void>>();

  constructor(connectString: string, opts: ZkSessionOptions) {
    super();
    this.connectString = connectString;
    this.#o = opts;
    this.#stateSince = this.#lastEventAt = opts.clock.now();
    const current = () => this.#state === "closed" ? undefined : this.#client;
    this.#calls = new BoundedCalls({
      clock: opts.clock,
      timeoutMs: opts.opTimeoutMs ?? Math.max(1000, opts.sessionTimeoutMs),
      maxInFlight: opts.maxInFlight ?? 128,
      client: current,
      timeoutReason: () => `no answer from ${this.connectString} (${this.#state})`,
    });
    this.#liveness = new LivenessWatchdog({
      connectString,
      clock: opts.clock,
      logger: opts.logger,
      current,
      connected: () => this.#state === "connected",
      onLost: () => this.#setState("disconnected"),
    });
    this.#refusalWatch = new HandshakeRefusalWatch({
      connectString,
      logger: opts.logger,
      current,
      onRefused: (client) => this.#rebuild(client, "refused"),
    });
    this.#connect();
  }

  get state(): ZkState {
    return this.#state;
  }

  /** When the current state began (ms). */
  get stateSince(): number {
    return this.#stateSince;
  }

  /** When the session last heard anything from ZooKeeper: a state change or a watch. */
  get lastEventAt(): number {
    return this.#lastEventAt;
  }

  /**
   * The server's id of the current session (hex, as ZooKeeper's logs and four-letter
   * commands print it), or undefined before the first connection.
   */
  get sessionId(): string | undefined {
    const id = this.#client?.getSessionId();
    if (!id || id.every((b) => b === 0)) return undefined;
    return BigInt(`0x${id.toString("hex")}`).toString(16);
  }

  /** How many times the session expired and was rebuilt. */
  get expirations(): number {
    return this.#expirations;
  }

  /**
   * How many times every server refused the session (an ensemble rebuilt or restored,
   * behind what the session has seen) and a fresh one was started.
   */
  get refusals(): number {
    return this.#refusals;
  }

  /**
   * Which client (ZooKeeper session) is current, counting from 1. Watches belong to a
   * session: when this changes, every watch is gone and must be set again.
   */
  get generation(): number {
    return this.#generation;
  }

  /** Called on every (re)connection; the subscriber should re-read and re-watch. */
  onConnect(fn: () => void): Unsubscribe {
    return this.#connected.subscribe(fn);
  }

  /** Records a watch firing as a sign of life. */
  touch(): void {
    this.#lastEventAt = this.#o.clock.now();
  }

  /** Resolves once connected (true), or false after `timeoutMs` or when closed. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.#state === "connected") return Promise.resolve(true);
    if (this.#state === "closed") return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: TimerId | undefined = undefined;
      const done = () => {
        if (timer !== undefined) this.#o.clock.clearTimeout(timer);
        resolve(this.#state === "connected");
      };
      this.#readyWaiters.push(done);
      timer = this.#o.clock.setTimeout(() => {
        this.#readyWaiters = this.#readyWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
    });
  }

  #setState(s: ZkState): void {
    const now = this.#o.clock.now();
    this.#lastEventAt = now;
    if (s === this.#state) return;
    this.#state = s;
    this.#stateSince = now;
  }

  #connect(): void {
    const hosts = shuffleHosts(this.connectString, this.#o.random);
    const client = zk.createClient(hosts, {
      sessionTimeout: this.#o.sessionTimeoutMs,
      spinDelay: 250,
      retries: 0,
    });
    this.#client = client;
    this.#generation++;
    this.#liveness.watch(client, hosts.split(",").length);
    this.#refusalWatch.watch(client, hosts.split(",").length);
    const log = this.#o.logger;
    client.on("state", (st) => {
      if (this.#client !== client) return;
      const code = st.getCode();
      if (code === zk.State.SYNC_CONNECTED.getCode()) {
        log.info(`connected to ${this.connectString}`);
        this.#setState("connected");
        this.#liveness.connected();
        this.#refusalWatch.connected();
        for (const w of this.#readyWaiters.splice(0)) w();
        this.#connected.emit();
      } else if (code === zk.State.DISCONNECTED.getCode()) {
        // Already said (and done) when the liveness check dropped the connection.
        if (this.#state !== "disconnected") {
          log.warn(`disconnected from ${this.connectString}; serving last known endpoints`);
        }
        this.#setState("disconnected");
        this.#liveness.arm();
      } else if (code === zk.State.EXPIRED.getCode()) {
        log.warn(`session with ${this.connectString} expired; starting a new one`);
        this.#rebuild(client, "expired");
      }
    });
    client.connect();
  }

  /** The session of `client` is dead (expired, or refused by every server): start afresh. */
  #rebuild(client: RawClient, why: "expired" | "refused"): void {
    if (this.#client !== client || this.#state === "closed") return;
    if (why === "expired") this.#expirations++;
    else this.#refusals++;
    this.#setState("expired");
    this.#client = undefined;
    // Calls sent on the dead session would hang until their timeout: fail them now,
    // so their callers re-read on the new session without waiting.
    this.#calls.failAll(new ZkOpError(`session ${why}`, "expired"), client);
    this.#retire(client);
    this.#connect();
  }

  /** Closes a client in the background; `close()` waits for it. */
  #retire(client: RawClient): void {
    const p = closeClient(client);
    this.#shutdowns.add(p);
    void p.finally(() => this.#shutdowns.delete(p));
  }

  protected override run<T>(what: string, fn: ClientCall<T>): Promise<T> {
    return this.#calls.run(what, fn);
  }

  /**
   * Ends the session (ephemeral nodes it created disappear once the server hears it).
   * Pending operations fail at once; resolves when the client's socket and timers are
   * released, even when the server cannot be reached. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state !== "closed") {
      this.#setState("closed");
      this.#liveness.stop();
      const client = this.#client;
      this.#client = undefined;
      for (const w of this.#readyWaiters.splice(0)) w();
      this.#calls.failAll(new ZkOpError("session closed", "closed"));
      if (client) this.#retire(client);
    }
    await Promise.all([...this.#shutdowns]);
  }
}

export { zk };
