export type { PoolMember } from "./lib/model/pool_member.ts";
export type { ShareFactor } from "./lib/model/share.ts";
/**
 * aurproxy's public API, for embedding it or building on its parts: the validated
 * config model, sources, share adjusters, the weight calculation, the snapshot, the
 * nginx backend and renderer, and the application that ties them together.
 *
 * @example
 * ```ts
 * import { buildGraph, consoleLogger, loadConfig } from "./mod.ts";
 *
 * export async function startAurproxy(configPath: string) {
 *   const config = await loadConfig(configPath);
 *   const graph = await buildGraph(config, {
 *     updatePeriodSeconds: 2,
 *     minIntervalSeconds: 10,
 *     weightAdjustmentDelaySeconds: 180,
 *     stateMaxAgeSeconds: 86400,
 *     zkSessionTimeoutSeconds: 30,
 *   }, consoleLogger());
 *   await graph.app.start();
 *   return graph;
 * }
 * ```
 *
 * @module
 */

export { ProxyApp, type ProxyAppDeps, type ProxyAppOptions } from "./lib/app.ts";
export { type MemberView, Topology, type TopologyDeps } from "./lib/pipeline/topology.ts";
export {
  Reconciler,
  type ReconcilerDeps,
  type ReconcilerTiming,
} from "./lib/pipeline/reconciler.ts";
export type { PipelineListener, SnapshotApplier } from "./lib/pipeline/listener.ts";
export { BackendApplier, type BackendApplierDeps } from "./lib/pipeline/backend_applier.ts";
export { EndpointGauges } from "./lib/metrics/endpoint_gauges.ts";
export {
  type ApplyOutcome,
  ChangeLog,
  type ChangeLogEntry,
  type ChangeLogOptions,
  describeEntry,
} from "./lib/observability/change_log.ts";
export {
  type DiffEndpoint,
  diffSnapshots,
  type UpstreamDiff,
  type WeightChange,
} from "./lib/observability/snapshot_diff.ts";
export { buildGraph, type Graph } from "./lib/cli/graph.ts";
export { run } from "./lib/cli/run.ts";
export { type RunOptions, runOptions } from "./lib/cli/run_options.ts";
export { main } from "./main.ts";
export { loadConfigText, parseJsonText } from "./lib/config/load.ts";
export {
  BUILTIN_KINDS,
  type ConfigOptions,
  type Kinds,
  loadConfig,
  parseConfig,
  parseSourceConfig,
} from "./lib/kinds.ts";
export type { ParseOptions } from "./lib/config/parse.ts";
export type { SourceConfigOptions } from "./lib/config/sources.ts";
export {
  type ConfigBackend,
  type ConfigKind,
  type ConfigKinds,
  findClass,
  markSupported,
  markUnsupported,
  resolveClass,
} from "./lib/config/kind.ts";
export { Fields, Walker } from "./lib/config/walker.ts";
export type * from "./lib/model/config.ts";
export { type Clock, systemClock } from "./lib/clock.ts";
export {
  type Endpoint,
  endpointKey,
  isIpLiteral,
  isValidHost,
  validateEndpointFields,
} from "./lib/model/endpoint.ts";
export {
  HostResolver,
  type LookupFn,
  type Resolution,
  systemLookup,
} from "./lib/pipeline/host_resolver.ts";
export { UsageError, UsageErrors } from "./lib/errors.ts";
export { consoleLogger, type Logger, memoryLogger } from "./lib/log.ts";
export { MetricsRegistry } from "./lib/metrics/registry.ts";
export type { Source, SourceStatus } from "./lib/sources/source.ts";
export { StaticSource } from "./lib/sources/static.ts";
export { ListSource } from "./lib/sources/list_source.ts";
export { ServerSetSource } from "./lib/sources/registry/serverset.ts";
export { auroraJobPath, AuroraSource } from "./lib/sources/registry/aurora.ts";
export { MesosMasterSource } from "./lib/sources/registry/mesos.ts";
export { ApiSource, type ApiSourceDeps } from "./lib/sources/api/api_source.ts";
export { ApiSourceHost, type ApiSourceHostOptions } from "./lib/sources/api/host.ts";
export { EndpointStateStore } from "./lib/sources/state_file.ts";
export { SOURCE_KINDS, sourceFactory } from "./lib/sources/kinds.ts";
export { defineSourceKind, type SourceDeps, type SourceKind } from "./lib/sources/kind.ts";
export type { AdjusterFactory, ShareAdjuster } from "./lib/share/adjuster.ts";
export { ADJUSTER_KINDS, adjusterFactory } from "./lib/share/kinds.ts";
export { type AdjusterDeps, type AdjusterKind, defineAdjusterKind } from "./lib/share/kind.ts";
export { CheckScheduler } from "./lib/share/health/scheduler.ts";
export { computeWeights } from "./lib/balance/weights.ts";
export { buildSnapshot } from "./lib/pipeline/snapshot_builder.ts";
export type * from "./lib/model/snapshot.ts";
export type {
  ApplyResult,
  ProxyBackend,
  ProxyProcessStatus,
  ValidationResult,
} from "./lib/backends/backend.ts";
export {
  type BackendDeps,
  type BackendEntry,
  createBackend,
  defineBackend,
  optionsFor,
} from "./lib/backends/table.ts";
export { BACKENDS } from "./lib/backends/kinds.ts";
export { configMeaning, NginxBackend } from "./lib/backends/nginx/backend.ts";
export { nginxBackend } from "./lib/backends/nginx/kind.ts";
export { type NginxOptions, parseNginxOptions } from "./lib/backends/nginx/options.ts";
export { renderNginx } from "./lib/backends/nginx/render.ts";
export { ZkSession } from "./lib/zk/session.ts";
export { ZkSessions } from "./lib/zk/sessions.ts";
export { announce, serverSetMemberJson } from "./lib/zk/announcer.ts";
export { type ManagementOptions, startManagementServer } from "./lib/management/server.ts";
export {
  type MountedRoute,
  type RouteHandler,
  RouteRegistry,
  type RouteSpec,
} from "./lib/management/routes.ts";
export {
  SHUTDOWN_PHASES,
  type ShutdownPhase,
  ShutdownSequence,
  type ShutdownStep,
} from "./lib/lifecycle/shutdown.ts";
export { listenForSignals, STOP_SIGNALS } from "./lib/lifecycle/process_signals.ts";
