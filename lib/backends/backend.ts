/**
 * The proxy backend interface: what aurproxy needs of a proxy it keeps configured. nginx
 * implements it (`nginx/backend.ts`); HAProxy will (applying weight-only changes through
 * its runtime API instead of a reload). Every implementation passes the shared contract
 * suite in `testing/contracts/backend_contract.ts`.
 *
 * @module
 */

import type { HealthCheckResult } from "../model/health.ts";
import type { ProxySnapshot } from "../model/snapshot.ts";

/** Outcome of one apply. Never thrown: the updater counts and logs each kind. */
export type ApplyResult =
  /**
   * The rendered config means the same as the live one (comments aside): nothing written,
   * nothing reloaded.
   */
  | { readonly kind: "unchanged" }
  /** Written and (unless `reload: false`) reloaded, and the reload was confirmed. */
  | { readonly kind: "applied"; readonly reloaded: boolean; readonly durationMs: number }
  /** The proxy's own validation (`nginx -t`) rejected the config; the live file is untouched. */
  | { readonly kind: "invalid"; readonly error: string }
  /** Written, but the reload failed or could not be confirmed. The previous config keeps serving. */
  | { readonly kind: "reload_failed"; readonly error: string }
  /** Writing or signalling failed (a full disk, no permission); the proxy serves what it had. */
  | { readonly kind: "error"; readonly error: string };

/**
 * Whether the proxy itself accepts the config rendered for a snapshot. `error` is the
 * proxy's own message (e.g. nginx's `invalid number "lots" in ...`), for the operator.
 */
export type ValidationResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: string };

/**
 * State of a proxy process the backend supervises (see {@linkcode ProxyBackend.start}).
 * Cheap to read; /health reports it: `failed` fails the check (restarting aurproxy is the
 * remedy), `starting`/`restarting`/`stopped` make it degraded.
 */
export interface ProxyProcessStatus {
  /**
   * `starting`: spawned, not yet accepting; `running`: serving; `restarting`: exited and
   * about to be started again (backing off); `stopped`: stopped on request; `failed`: the
   * supervisor gave up (it exited too often, or cannot be spawned).
   */
  readonly state: "starting" | "running" | "restarting" | "stopped" | "failed";
  /** The running process's pid. */
  readonly pid?: number;
  /** Restarts since `start()`. */
  readonly restarts: number;
  /** One line for /health and the status page, e.g. "exited with code 1, restarting in 2s". */
  readonly detail: string;
}

/**
 * The proxy's own statistics as metrics (nginx's `stub_status`, HAProxy's `show stat`),
 * into the registry the backend was made with.
 */
export interface ProxyStats {
  /** Polls once; resolves true when the values are fresh. Never rejects: a failure is counted. */
  poll(): Promise<boolean>;
}

/** One server line of an upstream in the live proxy config, as aurproxy rendered it. */
export interface LiveServer {
  /** The host as the registry named it (the address when rendered as itself). */
  readonly host: string;
  /** What the proxy connects to. */
  readonly address: string;
  readonly port: number;
  /** 0 for a standby (`backup`) server. */
  readonly weight: number;
  readonly pool: "primary" | "overflow";
  /** The source that produced it (its name), when the line says. */
  readonly source?: string;
}

/** The servers the live proxy config sends traffic to, by upstream (slug). */
export interface LiveUpstreams {
  /** Where they were read, for logs and /health: "the live nginx config". */
  readonly from: string;
  /** The file read. */
  readonly file: string;
  readonly upstreams: ReadonlyMap<string, readonly LiveServer[]>;
}

/**
 * @example
 * ```ts
 * import type { ProxySnapshot } from "../model/snapshot.ts";
 *
 * async function applyIfValid(backend: ProxyBackend, snapshot: ProxySnapshot) {
 *   const checked = await backend.validate(snapshot);
 *   return checked.ok ? await backend.apply(snapshot, { reload: true }) : checked;
 * }
 * ```
 */
export interface ProxyBackend {
  /** Short name for logs and /health: "nginx", "haproxy". */
  readonly name: string;
  /** Pure and deterministic: the config text for a snapshot. Touches no file or process. */
  render(snapshot: ProxySnapshot): string;
  /**
   * Renders the snapshot and has the proxy check the result (`nginx -t`), touching nothing
   * live: neither the live config file nor the running proxy. For `aurproxy validate`.
   */
  validate(snapshot: ProxySnapshot): Promise<ValidationResult>;
  /**
   * Renders (once), validates, swaps atomically and, when `reload` is true, reloads the
   * running proxy and confirms the reload. `reload: false` is `--setup`: write a validated
   * config for a proxy not started yet. A config the proxy rejects never goes live.
   */
  apply(snapshot: ProxySnapshot, opts: { reload: boolean }): Promise<ApplyResult>;
  /**
   * Optional, for a backend that runs the proxy process itself (`run --supervise`) rather
   * than signalling one started by the operator or the Aurora task. `--supervise` is
   * refused (exit 2) for a backend without it. The contract every backend keeps:
   *
   * - Called once, after a first `apply(snapshot, { reload: false })` wrote a valid
   *   config (as `--setup` does). Starts the proxy in the foreground on the live file as
   *   a `Supervisor` child (`lib/process/supervisor.ts`: its own process
   *   group; stderr into aurproxy's log) and resolves once it accepts connections; it
   *   counts as running the live config, so the next `apply` need not reload it.
   * - Rejects, with the proxy's own words (the last stderr lines) and the supervisor
   *   stopped, when the proxy exits or cannot be spawned before it accepts (binary
   *   missing, a port in use, a config it refuses at start): aurproxy exits 1, no retry.
   * - From then on `apply(..., { reload: true })` reloads *that child* through the
   *   supervisor (SIGHUP for nginx; HAProxy: its master's reload signal or runtime API),
   *   never a pid read from a pid file, and only once the child installed its handlers.
   * - A child that dies is restarted with the supervisor's backoff (0.5 s doubling to
   *   30 s) on the live file, which is always the last config validated and swapped in,
   *   so it serves the current config. While it is down, {@linkcode health} fails (the
   *   proxy serves nothing) and {@linkcode status} says `restarting` with the backoff.
   * - {@linkcode adopt} lets the backend of a graph built on SIGHUP take the running
   *   child over; {@linkcode stop} is a step of the shutdown's `stop_children` phase,
   *   after deregistration.
   */
  start?(): Promise<void>;
  /**
   * Optional, with {@linkcode start}: stops the proxy gracefully (in-flight requests
   * finish; nginx: SIGQUIT), then SIGKILL to its whole process group when `deadlineMs`
   * passes (default: the proxy's own drain bound, nginx's `worker_shutdown_timeout`, plus
   * a margin), so no worker outlives it. Resolves once every process is gone; a no-op
   * when nothing was started. Idempotent.
   */
  stop?(opts?: { readonly deadlineMs?: number }): Promise<void>;
  /**
   * Optional, with {@linkcode start}: the supervised process's state, for /health and the
   * status page; undefined when the backend runs no process (not started).
   */
  status?(): ProxyProcessStatus | undefined;
  /**
   * Optional, with {@linkcode start}: takes over the process `previous` (the backend of
   * the graph a SIGHUP replaces) started, so the proxy keeps running across the swap and
   * this backend's applies reload it. Returns why it cannot (another backend, or the
   * process would have to run another file or binary), and then the new config is not
   * applied; undefined once taken over. `previous` may still be used if the swap fails.
   */
  adopt?(previous: ProxyBackend): string | undefined;
  /**
   * Optional: what the backend sees of the running proxy now, for /health (cheap and
   * synchronous: called on every request). `failed` when restarting the task is the
   * remedy (the proxy is not running, runs a config the backend does not write, serves
   * nothing); `degraded` for what the backend repairs itself.
   */
  health?(): HealthCheckResult;
  /**
   * Optional: true when the proxy drifted from what was applied without any change of
   * the desired state (its config file was deleted by hand): the next `--update-period`
   * tick then runs an update, which repairs it.
   */
  drifted?(): boolean;
  /**
   * Optional: the servers the live config (the file the proxy runs) sends traffic to, read
   * back from the file aurproxy wrote; undefined when there is none. Read once at start-up:
   * a source whose registry cannot be read yet keeps serving these instead of none
   * ("missing knowledge never empties a live upstream"). Only lines that take traffic
   * count (weighted and standby servers, not weight-0 ones).
   */
  liveEndpoints?(): Promise<LiveUpstreams | undefined>;
  /**
   * Optional: the proxy's own statistics, which `run` polls before each /metrics scrape
   * and each publish; undefined when the config exposes none (nginx without
   * `stats_port`). `run` reads it once, of the first graph's backend.
   */
  readonly stats?: ProxyStats;
}
