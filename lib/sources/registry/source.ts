/**
 * A source fed by a ZooKeeper children watch: the shared machinery of the serverset,
 * Aurora and Mesos-master sources. It keeps the last known endpoints through connection
 * loss and session expiry, falls back to the state file when ZooKeeper is unreachable at
 * start-up, skips (logs, counts) malformed members, and signals only real changes.
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import type { Endpoint } from "../../model/endpoint.ts";
import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import { ChangeSignal, type Unsubscribe } from "../../lifecycle/signal.ts";
import { type ChildrenState, ChildrenWatch } from "../../zk/children_watch.ts";
import type { ZkReader, ZkReaders } from "../../zk/reader.ts";
import type { MemberResult } from "./member.ts";
import { endpointFingerprint, MemberTable, sameFingerprints } from "./member_table.ts";
import type { RegistryState, Source, SourceStatus } from "../source.ts";
import { registryStatus, type StartFallback } from "./status.ts";
import { registrySourceName } from "./naming.ts";

// Where they were declared before the split; code importing them from here keeps working.
export { memberQualifier, normalizeZkPath, registrySourceName } from "./naming.ts";
import type { EndpointStateStore } from "../state_file.ts";
import type { PreviousEndpointsConfig } from "../../model/config.ts";
import {
  DEFAULT_PREVIOUS_ENDPOINTS,
  type KeptEndpoints,
  PreviousEndpointsKeeper,
} from "./previous_endpoints.ts";

/** What a registry source is given: the sessions (`ZkSessions`), the state file, the clock. */
export interface RegistrySourceDeps {
  /** The ZooKeeper sessions by ensemble (`ZkSessions`; an in-memory registry in unit tests). */
  readonly sessions: ZkReaders;
  readonly state?: EndpointStateStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: MetricsRegistry;
  /** How long `start()` waits for ZooKeeper before serving the state file. Default 5 s. */
  readonly startTimeoutMs?: number;
}

/** What a registry source watches and how it reads members. */
export interface RegistrySourceSpec {
  /** Keeping the previous endpoints when every member vanishes at once; default on, 60 s. */
  readonly previousEndpoints?: PreviousEndpointsConfig;
  /** What kind of source this is, the start of its name: "serverset", "aurora", "mesos". */
  readonly kind: string;
  /** What else selects the members, the end of its name (see {@linkcode registrySourceName}). */
  readonly qualifier?: string;
  readonly zkServers: string;
  readonly zkPath: string;
  /** Which children are members. */
  readonly filter: (child: string) => boolean;
  /**
   * Which members count, given every member's name in znode (sequence) order. Default:
   * all; the Mesos source keeps only the lowest sequence (the leader).
   */
  readonly choose?: (children: readonly string[]) => readonly string[];
  /** Parses one member's data. */
  readonly parse: (data: string, path: string) => MemberResult;
}

const INVALID = [
  "source_member_invalid_total",
  "Registry members skipped as malformed or unsafe.",
] as const;
const KEEPING = [
  "source_keeping_previous_endpoints",
  "Endpoints a registry source keeps serving while its registry shows no member.",
] as const;

/**
 * @example
 * ```ts
 * import { parseServerSetMember } from "./member.ts";
 *
 * async function web(deps: RegistrySourceDeps) {
 *   const src = new RegistrySource({
 *     kind: "serverset",
 *     zkServers: "zk:2181",
 *     zkPath: "/sd/web",
 *     filter: (n) => n.startsWith("member_"),
 *     parse: (data, origin) => parseServerSetMember(data, { origin }),
 *   }, deps);
 *   await src.start();
 *   return src.endpoints();
 * }
 * ```
 */
export class RegistrySource implements Source {
  readonly name: string;
  readonly zkPath: string;
  readonly #spec: RegistrySourceSpec;
  readonly #deps: RegistrySourceDeps;
  readonly #session: ZkReader;
  readonly #changed = new ChangeSignal();
  readonly #watch: ChildrenWatch;
  readonly #members: MemberTable;
  readonly #previous: PreviousEndpointsKeeper;
  #endpoints: readonly Endpoint[] = [];
  /** What `#endpoints` are, for telling a change from a re-read. */
  #fingerprints = new Set<string>();
  /** What was served before the first read, and from where. */
  #fallback?: StartFallback;
  /** What the live proxy config serves for this source (see `keepUntilRead`). */
  #live?: { readonly endpoints: readonly Endpoint[]; readonly from: string };
  #reads = 0;
  /** When the registry last delivered the members (ms). */
  #lastEventAt?: number;
  #firstRead?: () => void;
  #timer?: TimerId;
  #untrack?: Unsubscribe;
  #running = false;

  constructor(spec: RegistrySourceSpec, deps: RegistrySourceDeps) {
    this.#spec = spec;
    this.#deps = deps;
    this.name = registrySourceName(spec.kind, spec.zkServers, spec.zkPath, spec.qualifier);
    this.zkPath = spec.zkPath;
    this.#session = deps.sessions.get(spec.zkServers);
    deps.metrics.declareCounter(INVALID[0], INVALID[1], { source: this.name });
    deps.metrics.set(KEEPING[0], KEEPING[1], 0, { source: this.name });
    this.#previous = new PreviousEndpointsKeeper(
      spec.previousEndpoints ?? DEFAULT_PREVIOUS_ENDPOINTS,
      { clock: deps.clock, onExpired: (kept) => this.#dropKept(kept) },
    );
    this.#members = new MemberTable({
      zkPath: spec.zkPath,
      choose: spec.choose,
      parse: spec.parse,
    });
    this.#watch = new ChildrenWatch(this.#session, spec.zkPath, {
      filter: spec.filter,
      onUpdate: (s) => this.#update(s),
      clock: deps.clock,
      logger: deps.logger,
    });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    const first = new Promise<void>((r) => (this.#firstRead = r));
    // While connected, the saved entry is re-confirmed so it does not age out.
    this.#untrack = this.#deps.state?.track(
      this.name,
      () => this.#current() ? this.#endpoints : undefined,
    );
    this.#watch.start();
    const timeoutMs = this.#deps.startTimeoutMs ?? 5000;
    const timedOut = new Promise<boolean>((r) => {
      this.#timer = this.#deps.clock.setTimeout(() => r(true), timeoutMs);
    });
    const late = await Promise.race([first.then(() => false), timedOut]);
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstRead = undefined;
    if (late && this.#reads === 0) this.#serveFallback(timeoutMs);
  }

  /**
   * Nothing read in time: serve what is known without the registry, the state file's
   * entry (this source's own last knowledge) or else what the live proxy config serves
   * for it, rather than nothing.
   */
  #serveFallback(timeoutMs: number): void {
    const saved = this.#deps.state?.get(this.name);
    const live = this.#live?.endpoints.length ? this.#live : undefined;
    const unreached = `${this.name}: ZooKeeper ${this.#session.connectString} not reached in ` +
      `${timeoutMs} ms`;
    const serve = (endpoints: readonly Endpoint[], fallback: StartFallback) => {
      this.#endpoints = endpoints;
      this.#fingerprints = new Set(endpoints.map(endpointFingerprint));
      this.#fallback = fallback;
    };
    if (saved) {
      serve(saved.endpoints, { from: "the state file", savedAt: saved.savedAt });
      this.#deps.logger.warn(
        `${unreached}; serving ${saved.endpoints.length} last known endpoint(s) from the state file`,
      );
    } else if (live) {
      serve(live.endpoints, { from: live.from });
      this.#deps.logger.warn(
        `${unreached} and no state file entry; serving the ${live.endpoints.length} endpoint(s) ` +
          `${live.from} has for it until it answers`,
      );
    } else {
      this.#deps.logger.warn(
        `${unreached} and no state file entry: no endpoints until it answers`,
      );
    }
  }

  stop(): Promise<void> {
    this.#running = false;
    this.#untrack?.();
    this.#untrack = undefined;
    this.#watch.stop();
    this.#previous.stop();
    if (this.#timer !== undefined) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstRead?.();
    return Promise.resolve();
  }

  endpoints(): readonly Endpoint[] {
    return this.#endpoints;
  }

  onChange(fn: () => void): Unsubscribe {
    return this.#changed.subscribe(fn);
  }

  /** True while the endpoint list is known to be current. */
  #current(): boolean {
    return this.#session.state === "connected" && this.#reads > 0 &&
      this.#watch.failure === undefined;
  }

  status(): SourceStatus {
    return registryStatus({
      zkPath: this.zkPath,
      served: this.#endpoints.length,
      state: this.#session.state,
      stateSince: this.#session.stateSince,
      now: this.#deps.clock.now(),
      current: this.#current(),
      reads: this.#reads,
      failure: this.#watch.failure,
      fallback: this.#fallback,
      keptUntil: this.#previous.kept?.until,
    });
  }

  registryState(): RegistryState {
    return {
      connectString: this.#session.connectString,
      zkPath: this.zkPath,
      session: this.#session.state,
      sessionSince: this.#session.stateSince,
      lastEventAt: this.#lastEventAt,
      servedFrom: this.#fallback?.from,
      savedAt: this.#fallback?.savedAt,
    };
  }

  keepUntilRead(endpoints: readonly Endpoint[], from: string): void {
    this.#live = { endpoints, from };
  }

  #update(s: ChildrenState): void {
    this.#reads++;
    this.#lastEventAt = this.#deps.clock.now();
    const { logger, metrics, state } = this.#deps;
    const read = this.#members.update(s.children);
    const { skipped } = read;
    for (const { path, result } of skipped) {
      if (result.kind === "invalid") {
        metrics.inc(INVALID[0], INVALID[1], { source: this.name });
        logger.warn(`${this.name}: skipping malformed member ${path}: ${result.reason}`);
      } else {
        logger.info(`${this.name}: member ${path} gets no traffic: ${result.reason}`);
      }
    }
    if (!s.exists) logger.info(`${this.name}: ${this.zkPath} does not exist (yet): no members`);
    const wasKeeping = this.#previous.kept !== undefined;
    const serve = this.#previous.serve(this.#endpoints, read.endpoints, read.members);
    const keeping = serve !== read.endpoints;
    const { endpoints, fingerprints } = keeping
      ? { endpoints: this.#endpoints, fingerprints: this.#fingerprints }
      : read;
    if (keeping && !wasKeeping) {
      const kept = this.#previous.kept!;
      logger.warn(
        `${this.name}: ${this.zkPath} ${s.exists ? "has no member any more" : "is gone"}: ` +
          `keeping its ${endpoints.length} previous endpoint(s) for up to ` +
          `${Math.round((kept.until - kept.since) / 1000)}s until members return ` +
          `(use_previous_endpoints)`,
      );
      metrics.set(KEEPING[0], KEEPING[1], endpoints.length, { source: this.name });
    } else if (!keeping && wasKeeping) {
      logger.info(
        `${this.name}: members are back (${endpoints.length}); the previous endpoints are replaced`,
      );
      metrics.set(KEEPING[0], KEEPING[1], 0, { source: this.name });
    }
    const changed = !sameFingerprints(fingerprints, this.#fingerprints);
    // Unchanged: keep the old list (and its order), unless it was served before any read
    // (state file, live config): then take the registry's quietly, for its origins.
    if (changed || this.#fallback !== undefined) {
      this.#endpoints = endpoints;
      this.#fingerprints = fingerprints;
    }
    this.#fallback = undefined;
    this.#firstRead?.();
    // Read from ZooKeeper just now: current, changed or not (the same list when unchanged).
    state?.put(this.name, this.#endpoints);
    if (changed) this.#changed.emit();
  }

  /** The grace period passed with no member back: serve what the registry says, nothing. */
  #dropKept(kept: KeptEndpoints): void {
    if (!this.#running) return;
    const { logger, metrics, state } = this.#deps;
    const s = Math.round((kept.until - kept.since) / 1000);
    logger.warn(
      `${this.name}: still no member in ${this.zkPath} after ${s}s: ` +
        `dropping its ${kept.endpoints.length} previous endpoint(s)`,
    );
    metrics.set(KEEPING[0], KEEPING[1], 0, { source: this.name });
    this.#endpoints = [];
    this.#fingerprints = new Set();
    if (this.#current()) state?.put(this.name, this.#endpoints);
    this.#changed.emit();
  }
}
