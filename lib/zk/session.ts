/**
 * One ZooKeeper session per ensemble, shared by every source that names it.
 *
 * The client library reconnects by itself after a connection loss (same session), but
 * after the session expires it never recovers and pending calls hang. So: on expiry the
 * old client is closed and a new one built; every operation is bounded by a timeout and
 * fails at once when its client is replaced or the session closed; and subscribers hear
 * about every (re)connection so they re-read and re-watch their paths.
 *
 * The library also never notices a server that stopped answering while the TCP connection
 * stays open (a silent network cut): it pings, but waits for the replies forever. As the
 * official clients do, a connection that has received nothing for two thirds of the
 * negotiated session timeout (pings go out every third) is declared lost and its socket
 * destroyed, so the library reconnects, possibly to another host, and learns whether the
 * session survived; a server that accepts the connection but does not answer the session
 * handshake in the session timeout divided by the number of hosts is left the same way.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { ChangeSignal, type Unsubscribe } from "../lifecycle/signal.ts";
import {
  BAD_ARGUMENTS,
  CONNECTION_CLOSED,
  NO_NODE,
  type RawClient,
  type Watcher,
  zk,
  type ZkError,
} from "./client.ts";

export type ZkState = "connecting" | "connected" | "disconnected" | "expired" | "closed";

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

/** Why an operation failed: a ZooKeeper error code, or one of aurproxy's own reasons. */
export type ZkOpCode = number | "timeout" | "closed" | "expired";

/** A ZooKeeper error with its code (e.g. {@linkcode NO_NODE}). */
export class ZkOpError extends Error {
  override name = "ZkOpError";
  readonly code: ZkOpCode;
  constructor(message: string, code: ZkOpCode) {
    super(message);
    this.code = code;
  }
}

/** True when `err` says the node does not exist. */
export function isNoNode(err: unknown): boolean {
  return err instanceof ZkOpError && err.code === NO_NODE;
}

/**
 * Hosts in random order, so a fleet of aurproxies spreads over the ensemble.
 *
 * @example
 * ```ts
 * shuffleHosts("zk1:2181, zk2:2181,zk3:2181"); // e.g. "zk3:2181,zk1:2181,zk2:2181"
 * ```
 */
export function shuffleHosts(connectString: string, random: () => number = Math.random): string {
  const hosts = connectString.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hosts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [hosts[i], hosts[j]] = [hosts[j], hosts[i]];
  }
  return hosts.join(",");
}

interface PendingOp {
  readonly client: RawClient;
  fail(err: ZkOpError): void;
}

/** How long `close()` lets the library say goodbye before cutting its socket. */
const GRACEFUL_CLOSE_MS = 400;

/**
 * A liveness check that fires this late found the process busy (e.g. rendering a large
 * config): bytes that arrived meanwhile may not have been read yet, so it looks again
 * shortly instead of dropping a healthy connection.
 */
const LATE_CHECK_MS = 100;

/**
 * @example
 * ```ts
 * const s = new ZkSession("127.0.0.1:2181", { sessionTimeoutMs: 30_000, clock, logger });
 * s.onConnect(() => rereadEverything());
 * const children = await s.getChildren("/aurora/www-data/prod/web", () => rereadEverything());
 * await s.close();
 * ```
 */
export class ZkSession {
  readonly connectString: string;
  readonly #o: ZkSessionOptions;
  readonly #connected = new ChangeSignal();
  #client?: RawClient;
  #generation = 0;
  #state: ZkState = "connecting";
  #stateSince: number;
  #lastEventAt: number;
  #expirations = 0;
  #readyWaiters: (() => void)[] = [];
  readonly #pending = new Set<PendingOp>();
  /** Operations in flight, and callers waiting for a slot (see `maxInFlight`). */
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];
  /** Old clients still shutting down; `close()` waits for them. */
  readonly #shutdowns = new Set<Promise<void>>();
  /** When the current client last received bytes from a server. */
  #receivedAt = 0;
  /** When the current connection attempt reached a server that has not answered the handshake yet. */
  #handshakeSince?: number;
  #watchdog?: TimerId;
  #hosts = 1;

  constructor(connectString: string, opts: ZkSessionOptions) {
    this.connectString = connectString;
    this.#o = opts;
    this.#stateSince = this.#lastEventAt = opts.clock.now();
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
    this.#hosts = Math.max(1, hosts.split(",").length);
    this.#handshakeSince = undefined;
    this.#clearWatchdog();
    this.#observe(client);
    const log = this.#o.logger;
    client.on("state", (st) => {
      if (this.#client !== client) return;
      const code = st.getCode();
      if (code === zk.State.SYNC_CONNECTED.getCode()) {
        log.info(`connected to ${this.connectString}`);
        this.#handshakeSince = undefined;
        this.#receivedAt = this.#o.clock.now();
        this.#setState("connected");
        this.#armWatchdog();
        for (const w of this.#readyWaiters.splice(0)) w();
        this.#connected.emit();
      } else if (code === zk.State.DISCONNECTED.getCode()) {
        // Already said (and done) when the liveness check dropped the connection.
        if (this.#state !== "disconnected") {
          log.warn(`disconnected from ${this.connectString}; serving last known endpoints`);
        }
        this.#setState("disconnected");
        this.#armWatchdog();
      } else if (code === zk.State.EXPIRED.getCode()) {
        log.warn(`session with ${this.connectString} expired; starting a new one`);
        this.#expirations++;
        this.#setState("expired");
        this.#client = undefined;
        // Calls sent on the dead session would hang until their timeout: fail them now,
        // so their callers re-read on the new session without waiting.
        this.#failPending(client, new ZkOpError("session expired", "expired"));
        this.#retire(client);
        this.#connect();
      }
    });
    client.connect();
  }

  /**
   * Learns when the client's connections receive bytes or reach a server. The library
   * binds these handlers to each new socket, looking them up on the instance.
   */
  #observe(client: RawClient): void {
    const cm = client.connectionManager;
    const onData = cm?.onSocketData;
    const onConnected = cm?.onSocketConnected;
    if (!cm || !onData || !onConnected) return; // Another library version: no liveness check.
    const { clock } = this.#o;
    cm.onSocketData = (buffer) => {
      if (this.#client === client) this.#receivedAt = clock.now();
      onData.call(cm, buffer);
    };
    cm.onSocketConnected = () => {
      // The library keeps an incomplete packet of the previous connection and would glue
      // it to the new server's answer: after a cut mid-packet it would misread everything.
      cm.pendingBuffer = null;
      if (this.#client === client) {
        this.#handshakeSince = clock.now();
        this.#armWatchdog();
      }
      onConnected.call(cm);
    };
  }

  /** When the current connection must next show life, if anything is being waited for. */
  #livenessDue(client: RawClient): number | undefined {
    const timeout = client.getSessionTimeout();
    if (this.#state === "connected") return this.#receivedAt + Math.floor((timeout * 2) / 3);
    if (this.#handshakeSince !== undefined) {
      return this.#handshakeSince + Math.floor(timeout / this.#hosts);
    }
    return undefined;
  }

  #clearWatchdog(): void {
    if (this.#watchdog !== undefined) this.#o.clock.clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** (Re)schedules the liveness check for the current connection, at `at` if given. */
  #armWatchdog(at?: number): void {
    this.#clearWatchdog();
    const client = this.#client;
    if (!client || this.#state === "closed") return;
    const due = at ?? this.#livenessDue(client);
    if (due === undefined) return;
    const { clock } = this.#o;
    this.#watchdog = clock.setTimeout(() => {
      this.#watchdog = undefined;
      this.#checkLiveness(client, due);
    }, Math.max(0, due - clock.now()));
  }

  #checkLiveness(client: RawClient, scheduledFor: number): void {
    if (this.#client !== client || this.#state === "closed") return;
    const due = this.#livenessDue(client);
    if (due === undefined) return;
    const now = this.#o.clock.now();
    if (now < due) return this.#armWatchdog(); // Heard from the server meanwhile.
    if (now - scheduledFor > LATE_CHECK_MS) return this.#armWatchdog(now + 20);
    const timeout = client.getSessionTimeout();
    const log = this.#o.logger;
    this.#clearWatchdog();
    if (this.#state === "connected") {
      log.warn(
        `no answer from ${this.connectString} for ${now - this.#receivedAt} ms ` +
          `(session timeout ${timeout} ms): connection lost; serving last known endpoints`,
      );
      this.#setState("disconnected");
    } else {
      log.warn(
        `a server of ${this.connectString} accepted the connection but did not answer ` +
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

  #failPending(client: RawClient | undefined, err: ZkOpError): void {
    for (const p of [...this.#pending]) if (!client || p.client === client) p.fail(err);
  }

  /** Closes a client in the background; `close()` waits for it. */
  #retire(client: RawClient): void {
    const p = shutdownClient(client);
    this.#shutdowns.add(p);
    void p.finally(() => this.#shutdowns.delete(p));
  }

  async #slot(): Promise<() => void> {
    const max = this.#o.maxInFlight ?? 128;
    while (this.#inFlight >= max) await new Promise<void>((r) => this.#slotWaiters.push(r));
    this.#inFlight++;
    return () => {
      this.#inFlight--;
      this.#slotWaiters.shift()?.();
    };
  }

  /** Runs one client call with a bound on its duration and on the calls in flight. */
  async #call<T>(
    what: string,
    fn: (c: RawClient, cb: (err: ZkError | null, v: T) => void) => void,
  ): Promise<T> {
    const release = await this.#slot();
    try {
      return await this.#callNow(what, fn);
    } finally {
      release();
    }
  }

  #callNow<T>(
    what: string,
    fn: (c: RawClient, cb: (err: ZkError | null, v: T) => void) => void,
  ): Promise<T> {
    const client = this.#client;
    if (!client || this.#state === "closed") {
      return Promise.reject(new ZkOpError(`${what}: session closed`, "closed"));
    }
    const { clock } = this.#o;
    return new Promise<T>((resolve, reject) => {
      const op: PendingOp = {
        client,
        fail: (err) => {
          if (!this.#pending.delete(op)) return;
          clock.clearTimeout(timer);
          reject(new ZkOpError(`${what}: ${err.message}`, err.code));
        },
      };
      const timer = clock.setTimeout(() => {
        op.fail(
          new ZkOpError(`no answer from ${this.connectString} (${this.#state})`, "timeout"),
        );
      }, this.#o.opTimeoutMs ?? Math.max(1000, this.#o.sessionTimeoutMs));
      this.#pending.add(op);
      try {
        fn(client, (err, v) => {
          if (!this.#pending.delete(op)) return;
          clock.clearTimeout(timer);
          if (err) reject(new ZkOpError(`${what}: ${err.message ?? err}`, err.getCode?.() ?? -1));
          else resolve(v);
        });
      } catch (err) {
        // The library checks arguments (e.g. a path with "..") before sending and throws:
        // nothing will ever answer, so the call fails now rather than at its timeout.
        op.fail(new ZkOpError(err instanceof Error ? err.message : String(err), BAD_ARGUMENTS));
      }
    });
  }

  /** The children's names; the watcher fires once when they change or the node goes. */
  getChildren(path: string, watcher?: Watcher): Promise<string[]> {
    return this.#call(`getChildren ${path}`, (c, cb) => c.getChildren(path, watcher, cb));
  }

  /** True when the node exists; the watcher fires when it is created or deleted. */
  async exists(path: string, watcher?: Watcher): Promise<boolean> {
    const stat = await this.#call<unknown>(
      `exists ${path}`,
      (c, cb) => c.exists(path, watcher, cb),
    );
    return stat !== null && stat !== undefined;
  }

  /** The node's data as UTF-8; the watcher fires once when it changes or the node goes. */
  async getData(path: string, watcher?: Watcher): Promise<string> {
    const data = await this.#call<Buffer | undefined>(
      `getData ${path}`,
      (c, cb) => c.getData(path, watcher, cb),
    );
    return data ? data.toString("utf8") : "";
  }

  /** Replaces the node's data (any version). */
  async setData(path: string, data: string): Promise<void> {
    await this.#call(`setData ${path}`, (c, cb) => c.setData(path, Buffer.from(data), -1, cb));
  }

  mkdirp(path: string): Promise<string> {
    return this.#call(`mkdirp ${path}`, (c, cb) => c.mkdirp(path, cb));
  }

  /** Creates a node; `mode` is one of `zk.CreateMode`. Returns the created path. */
  create(path: string, data: string, mode: number): Promise<string> {
    return this.#call(`create ${path}`, (c, cb) => c.create(path, Buffer.from(data), mode, cb));
  }

  remove(path: string): Promise<void> {
    return this.#call(`remove ${path}`, (c, cb) => c.remove(path, -1, cb));
  }

  /**
   * Ends the session (ephemeral nodes it created disappear once the server hears it).
   * Pending operations fail at once; resolves when the client's socket and timers are
   * released, even when the server cannot be reached. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#state !== "closed") {
      this.#setState("closed");
      this.#clearWatchdog();
      const client = this.#client;
      this.#client = undefined;
      for (const w of this.#readyWaiters.splice(0)) w();
      this.#failPending(undefined, new ZkOpError("session closed", "closed"));
      if (client) this.#retire(client);
    }
    await Promise.all([...this.#shutdowns]);
  }
}

/**
 * Closes a client and waits until it has released its socket and timers. The library
 * sends a close request and waits for the server; with the network cut that wait never
 * ends, so after a grace period the socket is destroyed (the library then settles into
 * its closed state without reconnecting). Real timers on purpose: the socket lives in
 * real time whatever clock the session was given.
 */
async function shutdownClient(client: RawClient): Promise<void> {
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

export { zk };
