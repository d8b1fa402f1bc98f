/**
 * The source interface: something that knows the current endpoints of one service and
 * says when they change. Static, ZooKeeper (serverset, Aurora, Mesos master) and API
 * sources implement it. Sources never touch the proxy (one direction of flow).
 *
 * @module
 */

import type { Endpoint } from "../model/endpoint.ts";
import type { Unsubscribe } from "../lifecycle/signal.ts";
import type { ZkState } from "../zk/reader.ts";

/** Health of a source's connection to its registry, for /health and metrics. */
export interface SourceStatus {
  /** True when the endpoint list is known to be current. */
  readonly healthy: boolean;
  /** Human-readable state, e.g. "connected", "disconnected: serving last known endpoints". */
  readonly detail: string;
}

/**
 * Where a registry source stands, as data for the status page: its ZooKeeper session,
 * when the registry last told it something, and what it serves when it has not read it.
 */
export interface RegistryState {
  /** The ensemble (`host:port,...`), as configured. */
  readonly connectString: string;
  readonly zkPath: string;
  readonly session: ZkState;
  /** When the session entered its state (ms). */
  readonly sessionSince: number;
  /** When the registry last delivered the members (ms); absent before the first read. */
  readonly lastEventAt?: number;
  /** Served before any read: where from ("the state file", "the live nginx config"). */
  readonly servedFrom?: string;
  /** When the state file last knew them current (ms), while served from it. */
  readonly savedAt?: number;
}

export interface Source {
  /** Stable, human-readable identity used in logs, metrics and upstream names. */
  readonly name: string;
  /**
   * Begins watching. Resolves once the first endpoint list is known, or once the source
   * has decided to serve without one (e.g. registry unreachable): it must not hang.
   */
  start(): Promise<void>;
  /** Stops watching and releases every timer and connection. Idempotent. */
  stop(): Promise<void>;
  /** The current endpoints. Cheap; called on every snapshot. */
  endpoints(): readonly Endpoint[];
  /** Calls `fn` whenever `endpoints()` may have changed. */
  onChange(fn: () => void): Unsubscribe;
  /** Optional connection state for health reporting. */
  status?(): SourceStatus;
  /** Optional, for a source reading a registry: its state as data (the status page). */
  registryState?(): RegistryState;
  /**
   * Optional, for a source that can fail to read its registry: the endpoints the proxy
   * serves for it right now (`from` says where they were read, e.g. "the live nginx
   * config"). Called before `start()`. Should the source have read nothing when `start()`
   * gives up waiting, and have no fresher knowledge (the state file), it serves these
   * rather than none, until its registry answers: missing knowledge never empties a live
   * upstream.
   */
  keepUntilRead?(endpoints: readonly Endpoint[], from: string): void;
}
