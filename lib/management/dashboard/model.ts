/**
 * The dashboard's model: what `/status` shows, as plain data built from the snapshot (what
 * the proxy runs), the adjusters' live factors, the sources' registry state, the change
 * log, health, version and uptime. Pure: every input is passed in, `now` included, so the
 * page renders the same for the same inputs and tests need no server.
 *
 * @module
 */

import type { HealthCheckResult } from "../../model/health.ts";
import type { ProxyProcessStatus } from "../../backends/backend.ts";
import type { ShareFactor } from "../../model/share.ts";
import type {
  ApiSourceStatus,
  ProxySnapshot,
  Upstream,
  WeightedEndpoint,
} from "../../model/snapshot.ts";
import type { ChangeLogEntry } from "../../observability/change_log.ts";
import type { RegistryState, SourceStatus } from "../../sources/source.ts";
import { reloadsOf, type ReloadView, type TimelineEvent, timelineOf } from "./events.ts";

/** What the dashboard reads beyond the snapshot and health; the wiring supplies it. */
export interface DashboardFeed {
  /** When aurproxy started (ms since epoch). */
  readonly startedAt: number;
  readonly version: string;
  /** The change log, oldest first. */
  changes(): readonly ChangeLogEntry[];
  /** Every configured source with what it says of itself. */
  sources(): readonly SourceInfo[];
  /**
   * The adjusters' factors right now (health checks run between snapshots), by
   * {@linkcode factorKey}; the snapshot's are used for what it lacks.
   */
  liveFactors?(): ReadonlyMap<string, readonly ShareFactor[]>;
  /** The proxy aurproxy runs itself (`run --supervise`); absent or undefined otherwise. */
  proxy?(): ProxyView | undefined;
}

/** The supervised proxy process: which backend, its state, pid and restarts. */
export interface ProxyView extends ProxyProcessStatus {
  /** The backend's name: "nginx", "haproxy". */
  readonly backend: string;
}

/** A source as the dashboard lists it. */
export interface SourceInfo {
  readonly name: string;
  readonly status?: SourceStatus;
  readonly registry?: RegistryState;
}

/** The key of an endpoint's factors in {@linkcode DashboardFeed.liveFactors}. */
export function factorKey(
  upstream: string,
  pool: string,
  source: string,
  host: string,
  port: number,
): string {
  return `${upstream}\u0000${pool}\u0000${source}\u0000${host}\u0000${port}`;
}

/**
 * Where an endpoint stands in its route: primary, overflow taking traffic, standby (an
 * overflow endpoint with capacity kept as nginx `backup`), or off (weight 0, no capacity).
 */
export type PoolState = "primary" | "overflow" | "standby" | "off";

/** An endpoint's health check as the dashboard shows it. */
export interface HealthView {
  /** initializing, healthy, unhealthy, unchecked. */
  readonly status: string;
  readonly detail: string;
  /** success, failure, inconclusive; absent before the first check. */
  readonly lastResult?: string;
  readonly lastReason?: string;
  /** When the last check ended (ms). */
  readonly lastCheckAt?: number;
}

/** One endpoint row. */
export interface EndpointView {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly source: string;
  readonly pool: PoolState;
  readonly weight: number;
  /** Share of the route's traffic, 0..1. */
  readonly fraction: number;
  /** Bar width, 0..100: the weight against the largest weight of the upstream. */
  readonly barPct: number;
  readonly share: number;
  readonly health?: HealthView;
  /** Ramp progress 0..1 and its detail, while an endpoint ramps up. */
  readonly ramp?: { readonly progress: number; readonly detail: string };
  /** A delayed start: when it ends (ms). */
  readonly delayUntil?: number;
  readonly factors: readonly {
    readonly name: string;
    readonly share: number;
    readonly detail: string;
  }[];
  readonly audit: readonly string[];
}

/** An endpoint left out of the config. */
export interface SkippedView {
  readonly host: string;
  readonly port: number;
  readonly pool: string;
  readonly source: string;
  readonly reason: string;
}

/** One route, stream or mirror pool. */
export interface UpstreamView {
  readonly kind: "route" | "stream" | "mirror";
  readonly slug: string;
  /** The route's locations; empty for a stream. */
  readonly locations: readonly string[];
  readonly failOpen: boolean;
  readonly notes: readonly string[];
  readonly endpoints: readonly EndpointView[];
  readonly skipped: readonly SkippedView[];
}

export interface ServerView {
  readonly slug: string;
  readonly hosts: readonly string[];
  readonly ports: readonly number[];
  readonly upstreams: readonly UpstreamView[];
}

/** A source and its registry state. */
export interface SourceView {
  readonly name: string;
  readonly healthy: boolean;
  readonly detail: string;
  readonly registry?: RegistryState;
}

/** Everything `/status` shows. */
export interface DashboardModel {
  readonly version: string;
  readonly startedAt?: number;
  readonly health: HealthCheckResult;
  /** When the snapshot was built; absent before the first. */
  readonly builtAt?: number;
  readonly adjustmentDelayed: boolean;
  readonly servers: readonly ServerView[];
  readonly sources: readonly SourceView[];
  readonly reloads: readonly ReloadView[];
  readonly events: readonly TimelineEvent[];
  readonly apiSources: readonly ApiSourceStatus[];
  /** With `run --supervise`: the proxy process aurproxy runs. */
  readonly proxy?: ProxyView;
}

/** What {@linkcode buildDashboardModel} reads. */
export interface DashboardInput {
  readonly snapshot?: ProxySnapshot;
  readonly health: HealthCheckResult;
  readonly feed?: DashboardFeed;
  /** Reloads and events shown (default 10 and 30). */
  readonly maxReloads?: number;
  readonly maxEvents?: number;
  /** The version shown when there is no feed. */
  readonly version: string;
  /** ms since epoch. */
  readonly now: number;
}

function poolState(e: WeightedEndpoint): PoolState {
  if (e.pool === "primary") return "primary";
  if (e.weight > 0) return "overflow";
  return e.share > 0 ? "standby" : "off";
}

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : undefined;
const str = (v: unknown) => typeof v === "string" ? v : undefined;

function healthOf(f: ShareFactor | undefined): HealthView | undefined {
  if (!f) return undefined;
  const s = f.state ?? {};
  return {
    status: str(s.status) ?? (f.share > 0 ? "healthy" : "unhealthy"),
    detail: f.detail,
    lastResult: str(s.lastResult),
    lastReason: str(s.lastReason),
    lastCheckAt: num(s.lastCheckAt),
  };
}

/** What every row is built against. */
interface Ctx {
  /** When the snapshot was built, and now (ms). */
  readonly snapAt: number;
  readonly now: number;
  readonly live?: ReadonlyMap<string, readonly ShareFactor[]>;
}

function endpointView(e: WeightedEndpoint, slug: string, maxWeight: number, c: Ctx): EndpointView {
  const liveFactors = c.live?.get(factorKey(slug, e.pool, e.source, e.host, e.port));
  const factors: readonly ShareFactor[] = liveFactors ?? e.factors;
  const by = (name: string) => factors.find((f) => f.name === name);
  const ramp = by("ramp");
  const progress = num(ramp?.state?.progress);
  const delay = by("delay");
  const remaining = num(delay?.state?.remainingSeconds);
  // A live factor's remaining time is as of now; the snapshot's, as of its build.
  const delayFrom = liveFactors ? c.now : c.snapAt;
  return {
    host: e.host,
    address: e.address,
    port: e.port,
    source: e.source,
    pool: poolState(e),
    weight: e.weight,
    fraction: e.fraction,
    barPct: maxWeight > 0 ? (e.weight / maxWeight) * 100 : 0,
    share: e.share,
    health: healthOf(by("health")),
    ramp: ramp && progress !== undefined && progress < 1
      ? { progress, detail: ramp.detail }
      : undefined,
    delayUntil: delay?.state?.waiting === true && remaining !== undefined
      // Whole seconds: the model (and its ETag) does not change at every request.
      ? Math.round((delayFrom + remaining * 1000) / 1000) * 1000
      : undefined,
    factors: factors.map((f) => ({ name: f.name, share: f.share, detail: f.detail })),
    audit: e.audit,
  };
}

function upstreamView(
  kind: UpstreamView["kind"],
  u: Upstream,
  locations: readonly string[],
  c: Ctx,
): UpstreamView {
  const maxWeight = u.endpoints.reduce((m, e) => Math.max(m, e.weight), 0);
  return {
    kind,
    slug: u.slug,
    locations,
    failOpen: u.failOpen,
    notes: u.notes,
    endpoints: u.endpoints.map((e) => endpointView(e, u.slug, maxWeight, c)),
    skipped: u.skipped.map(({ host, port, pool, source, reason }) => ({
      host,
      port,
      pool,
      source,
      reason,
    })),
  };
}

/**
 * @example
 * ```ts
 * const model = buildDashboardModel({
 *   snapshot: { context: {}, servers: [], builtAt: 0, adjustmentDelayed: false },
 *   health: { level: "ok", lines: [] },
 *   version: "0.1.0",
 *   now: Date.now(),
 * });
 * model.servers.length; // 0
 * ```
 */
export function buildDashboardModel(i: DashboardInput): DashboardModel {
  const snap = i.snapshot;
  const c: Ctx = { snapAt: snap?.builtAt ?? i.now, now: i.now, live: i.feed?.liveFactors?.() };
  const servers = (snap?.servers ?? []).map((s): ServerView => ({
    slug: s.slug,
    hosts: s.hosts,
    ports: s.ports,
    upstreams: [
      ...s.routes.flatMap((r) => [
        upstreamView("route", r, r.locations, c),
        ...(r.mirror ? [upstreamView("mirror", r.mirror, r.locations, c)] : []),
      ]),
      ...s.streams.map((st) => upstreamView("stream", st, [], c)),
    ],
  }));
  const changes = i.feed?.changes() ?? [];
  return {
    version: i.feed?.version ?? i.version,
    startedAt: i.feed?.startedAt,
    health: i.health,
    builtAt: snap?.builtAt,
    adjustmentDelayed: snap?.adjustmentDelayed ?? false,
    servers,
    sources: (i.feed?.sources() ?? []).map((s) => ({
      name: s.name,
      healthy: s.status?.healthy ?? true,
      detail: s.status?.detail ?? "",
      registry: s.registry,
    })),
    reloads: reloadsOf(changes, i.maxReloads ?? 10),
    events: timelineOf(changes, i.maxEvents ?? 30),
    apiSources: snap?.apiSources ?? [],
    proxy: i.feed?.proxy?.(),
  };
}
