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
import { normalizeEnsemble } from "../../zk/sessions.ts";
import type { MemberResult } from "./member.ts";
import { endpointFingerprint, MemberTable, sameFingerprints } from "./member_table.ts";
import type { Source, SourceStatus } from "../source.ts";
import type { EndpointStateStore } from "../state_file.ts";

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

/** `/a//b/` → `/a/b`: ZooKeeper paths have no empty or trailing segments. */
export function normalizeZkPath(...parts: string[]): string {
  const segs = parts.join("/").split("/").filter(Boolean);
  return "/" + segs.join("/");
}

/**
 * A registry source's name, used for its state-file entry, its metrics and logs: unique
 * per ensemble, path and member selection, so that sources on two ensembles with the same
 * job path never share a saved entry or a metric, yet readable as a ZooKeeper address.
 *
 * @example
 * ```ts
 * registrySourceName("aurora", "zk2:2181, zk1:2181", "/aurora/www-data/prod/web", "#http");
 * // "aurora:zk1:2181,zk2:2181/aurora/www-data/prod/web#http"
 * ```
 */
export function registrySourceName(
  kind: string,
  zkServers: string,
  zkPath: string,
  qualifier = "",
): string {
  return `${kind}:${normalizeEnsemble(zkServers)}${zkPath}${qualifier}`;
}

/**
 * The qualifier of a serverset-style source: the member prefix when not the default
 * (`/node_*`), then the named endpoint (`#http`).
 */
export function memberQualifier(memberPrefix: string, endpoint?: string): string {
  return `${memberPrefix === "member_" ? "" : `/${memberPrefix}*`}${
    endpoint ? `#${endpoint}` : ""
  }`;
}

const INVALID = [
  "source_member_invalid_total",
  "Registry members skipped as malformed or unsafe.",
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
  #endpoints: readonly Endpoint[] = [];
  /** What `#endpoints` are, for telling a change from a re-read. */
  #fingerprints = new Set<string>();
  #fromState?: number;
  #reads = 0;
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
    if (late && this.#reads === 0) {
      const saved = this.#deps.state?.get(this.name);
      if (saved) {
        this.#endpoints = saved.endpoints;
        this.#fingerprints = new Set(saved.endpoints.map(endpointFingerprint));
        this.#fromState = saved.savedAt;
        this.#deps.logger.warn(
          `${this.name}: ZooKeeper ${this.#session.connectString} not reached in ${timeoutMs} ms; ` +
            `serving ${saved.endpoints.length} last known endpoint(s) from the state file`,
        );
      } else {
        this.#deps.logger.warn(
          `${this.name}: ZooKeeper ${this.#session.connectString} not reached in ${timeoutMs} ms ` +
            `and no state file entry: no endpoints until it answers`,
        );
      }
    }
  }

  stop(): Promise<void> {
    this.#running = false;
    this.#untrack?.();
    this.#untrack = undefined;
    this.#watch.stop();
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
    const n = this.#endpoints.length;
    const st = this.#session.state;
    const ageS = (t: number) => Math.round((this.#deps.clock.now() - t) / 1000);
    if (this.#current()) return { healthy: true, detail: `connected, ${n} endpoint(s)` };
    if (this.#reads === 0) {
      return {
        healthy: false,
        detail: this.#fromState !== undefined
          ? `ZooKeeper not reached yet: serving ${n} endpoint(s) from the state file (${
            ageS(this.#fromState)
          }s old)`
          : "ZooKeeper not reached yet: no endpoints",
      };
    }
    const failure = this.#watch.failure;
    return {
      healthy: false,
      detail: st === "connected" && failure
        ? `connected, but reading ${this.zkPath} failed (${failure}): serving ${n} last known endpoint(s)`
        : `${st} since ${new Date(this.#session.stateSince).toISOString()} (${
          ageS(this.#session.stateSince)
        }s): serving ${n} last known endpoint(s)`,
    };
  }

  #update(s: ChildrenState): void {
    this.#reads++;
    const { logger, metrics, state } = this.#deps;
    const { endpoints, fingerprints, skipped } = this.#members.update(s.children);
    for (const { path, result } of skipped) {
      if (result.kind === "invalid") {
        metrics.inc(INVALID[0], INVALID[1], { source: this.name });
        logger.warn(`${this.name}: skipping malformed member ${path}: ${result.reason}`);
      } else {
        logger.info(`${this.name}: member ${path} gets no traffic: ${result.reason}`);
      }
    }
    if (!s.exists) logger.info(`${this.name}: ${this.zkPath} does not exist (yet): no members`);
    const changed = !sameFingerprints(fingerprints, this.#fingerprints);
    // Unchanged: keep the old list (and its order), unless it came from the state file
    // (then take the live one quietly, for its origins).
    if (changed || this.#fromState !== undefined) {
      this.#endpoints = endpoints;
      this.#fingerprints = fingerprints;
    }
    this.#fromState = undefined;
    this.#firstRead?.();
    // Read from ZooKeeper just now: current, changed or not (the same list when unchanged).
    state?.put(this.name, this.#endpoints);
    if (changed) this.#changed.emit();
  }
}
