/**
 * The typed subset of `node-zookeeper-client` aurproxy uses. The package ships no types;
 * keeping its surface in one file means the rest of the code is checked.
 *
 * @module
 */

import zookeeper from "node-zookeeper-client";
import type { Buffer } from "node:buffer";

export interface ZkEvent {
  getType(): number;
  getName(): string;
  getPath(): string;
}

export interface ZkError {
  getCode(): number;
  message: string;
}

export type Watcher = (event: ZkEvent) => void;

/** The part of a node's stat aurproxy reads. */
export interface ZkStat {
  /** The zxid of the node's last write (8 bytes, big-endian). */
  readonly mzxid: Buffer;
}
type Cb<T> = (err: ZkError | null, value: T) => void;

/** One client connection (one session, until it expires). */
export interface RawClient {
  connect(): void;
  close(): void;
  on(event: "state", fn: (state: { getName(): string; getCode(): number }) => void): void;
  getState(): { getCode(): number; getName(): string };
  getSessionId(): Buffer;
  /** The session timeout: as asked before the first connection, as negotiated after. */
  getSessionTimeout(): number;
  getChildren(path: string, watcher: Watcher | undefined, cb: Cb<string[]>): void;
  exists(path: string, watcher: Watcher | undefined, cb: Cb<unknown>): void;
  getData(
    path: string,
    watcher: Watcher | undefined,
    cb: (err: ZkError | null, data: Buffer | undefined, stat?: ZkStat) => void,
  ): void;
  create(path: string, data: Buffer | undefined, mode: number, cb: Cb<string>): void;
  setData(path: string, data: Buffer, version: number, cb: Cb<unknown>): void;
  mkdirp(path: string, cb: Cb<string>): void;
  remove(path: string, version: number, cb: Cb<void>): void;
  /**
   * Library internals, untyped upstream, hence optional. `closeClient` reads them: the
   * library's own close waits for the server's answer forever when the network is cut,
   * keeping a socket (and, while connecting, a timer) alive. `LivenessWatchdog` wraps the
   * two socket handlers (looked up on the instance at each connect) to learn when bytes
   * arrive, because the library never notices a server that stopped answering;
   * `HandshakeRefusalWatch` wraps them too, and reads `zxid`, to notice an ensemble that
   * refuses the session on every attempt.
   */
  readonly connectionManager?: {
    readonly state: number;
    readonly socket?: { destroy(): void; once?(event: "end", fn: () => void): unknown };
    /** The last zxid the client has seen (8 bytes, big-endian), sent with each handshake. */
    readonly zxid?: Buffer;
    readonly connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
    /** Bytes of an incomplete packet, kept across connections by the library. */
    pendingBuffer?: unknown;
    onSocketData?: (this: unknown, buffer: unknown) => void;
    onSocketConnected?: (this: unknown) => void;
  };
}

/** The library's `ConnectionManager.STATES.CLOSED`: socket gone, nothing scheduled. */
export const CONNECTION_CLOSED = -2;

interface ZkModule {
  createClient(
    connectString: string,
    options: { sessionTimeout: number; spinDelay: number; retries: number },
  ): RawClient;
  State: Record<
    "SYNC_CONNECTED" | "DISCONNECTED" | "EXPIRED" | "AUTH_FAILED",
    { getCode(): number }
  >;
  Exception: Record<"NO_NODE" | "NODE_EXISTS" | "CONNECTION_LOSS" | "BAD_ARGUMENTS", number>;
  Event: Record<
    "NODE_CREATED" | "NODE_DELETED" | "NODE_DATA_CHANGED" | "NODE_CHILDREN_CHANGED",
    number
  >;
  CreateMode: Record<
    "PERSISTENT" | "PERSISTENT_SEQUENTIAL" | "EPHEMERAL" | "EPHEMERAL_SEQUENTIAL",
    number
  >;
}

/** The module, typed. */
export const zk = zookeeper as unknown as ZkModule;

/** Error codes aurproxy distinguishes. */
export const NO_NODE = zk.Exception.NO_NODE;
export const NODE_EXISTS = zk.Exception.NODE_EXISTS;
export const BAD_ARGUMENTS = zk.Exception.BAD_ARGUMENTS;
