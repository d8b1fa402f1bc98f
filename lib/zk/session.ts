/**
 * One ZooKeeper session per ensemble, shared by every source that names it.
 *
 * The client library reconnects by itself after a connection loss (same session), but
 * after the session expires it never recovers and pending calls hang. So: on expiry the
 * old client is closed and a new one built; every operation is bounded by a timeout; and
 * subscribers hear about every (re)connection so they re-read and re-watch their paths.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Clock, TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";
import { ChangeSignal, type Unsubscribe } from "../signal.ts";
import { NO_NODE, type RawClient, type Watcher, zk, type ZkError } from "./client.ts";

export type ZkState = "connecting" | "connected" | "disconnected" | "expired" | "closed";

export interface ZkSessionOptions {
  readonly sessionTimeoutMs: number;
  /**
   * Operations sent at once on this session (default 128). Starting 50 watches of 40
   * members each would otherwise put 2,000 reads and their buffers in flight together.
   */
  readonly maxInFlight?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For tests: how hosts are shuffled. */
  readonly random?: () => number;
}

/** A ZooKeeper error with its code (e.g. {@linkcode NO_NODE}). */
export class ZkOpError extends Error {
  override name = "ZkOpError";
  readonly code: number | "timeout" | "closed";
  constructor(message: string, code: number | "timeout" | "closed") {
    super(message);
    this.code = code;
  }
}

/** True when `err` says the node does not exist. */
export function isNoNode(err: unknown): boolean {
  return err instanceof ZkOpError && err.code === NO_NODE;
}

/** Hosts in random order, so a fleet of aurproxies spreads over the ensemble. */
export function shuffleHosts(connectString: string, random: () => number = Math.random): string {
  const hosts = connectString.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hosts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [hosts[i], hosts[j]] = [hosts[j], hosts[i]];
  }
  return hosts.join(",");
}

/**
 * @example
 * ```ts
 * const s = new ZkSession("127.0.0.1:2181", { sessionTimeoutMs: 30_000, clock, logger });
 * s.onConnect(() => rereadEverything());
 * const children = await s.getChildren("/aurora/www-data/prod/web", () => rereadEverything());
 * ```
 */
export class ZkSession {
  readonly connectString: string;
  readonly #o: ZkSessionOptions;
  readonly #connected = new ChangeSignal();
  #client?: RawClient;
  #state: ZkState = "connecting";
  #stateSince: number;
  #lastEventAt: number;
  #expirations = 0;
  #readyWaiters: (() => void)[] = [];
  /** Operations in flight, and callers waiting for a slot (see `maxInFlight`). */
  #inFlight = 0;
  #slotWaiters: (() => void)[] = [];

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

  /** How many times the session expired and was rebuilt. */
  get expirations(): number {
    return this.#expirations;
  }

  /** Called on every (re)connection; the subscriber should re-read and re-watch. */
  onConnect(fn: () => void): Unsubscribe {
    return this.#connected.subscribe(fn);
  }

  /** Records a watch firing as a sign of life. */
  touch(): void {
    this.#lastEventAt = this.#o.clock.now();
  }

  /** Resolves once connected, or after `timeoutMs` (resolving false). */
  waitConnected(timeoutMs: number): Promise<boolean> {
    if (this.#state === "connected") return Promise.resolve(true);
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
    const client = zk.createClient(shuffleHosts(this.connectString, this.#o.random), {
      sessionTimeout: this.#o.sessionTimeoutMs,
      spinDelay: 250,
      retries: 0,
    });
    this.#client = client;
    const log = this.#o.logger;
    client.on("state", (st) => {
      if (this.#client !== client) return;
      const code = st.getCode();
      if (code === zk.State.SYNC_CONNECTED.getCode()) {
        log.info(`connected to ${this.connectString}`);
        this.#setState("connected");
        for (const w of this.#readyWaiters.splice(0)) w();
        this.#connected.emit();
      } else if (code === zk.State.DISCONNECTED.getCode()) {
        log.warn(`disconnected from ${this.connectString}; serving last known endpoints`);
        this.#setState("disconnected");
      } else if (code === zk.State.EXPIRED.getCode()) {
        log.warn(`session with ${this.connectString} expired; starting a new one`);
        this.#expirations++;
        this.#setState("expired");
        this.#client = undefined;
        try {
          client.close();
        } catch {
          // The old client is dead anyway.
        }
        this.#connect();
      }
    });
    client.connect();
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
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = this.#o.clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(
          new ZkOpError(
            `${what}: no answer from ${this.connectString} (${this.#state})`,
            "timeout",
          ),
        );
      }, Math.max(1000, this.#o.sessionTimeoutMs));
      fn(client, (err, v) => {
        if (settled) return;
        settled = true;
        this.#o.clock.clearTimeout(timer);
        if (err) reject(new ZkOpError(`${what}: ${err.message ?? err}`, err.getCode?.() ?? -1));
        else resolve(v);
      });
    });
  }

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

  async getData(path: string): Promise<string> {
    const data = await this.#call<Buffer | undefined>(
      `getData ${path}`,
      (c, cb) => c.getData(path, undefined, cb),
    );
    return data ? data.toString("utf8") : "";
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

  /** Ends the session (ephemeral nodes it created disappear). */
  close(): Promise<void> {
    if (this.#state === "closed") return Promise.resolve();
    this.#setState("closed");
    const client = this.#client;
    this.#client = undefined;
    for (const w of this.#readyWaiters.splice(0)) w();
    try {
      client?.close();
    } catch {
      // Nothing to release.
    }
    // The library finishes closing its socket asynchronously.
    return new Promise((r) => setTimeout(r, 20));
  }
}

export { zk };
