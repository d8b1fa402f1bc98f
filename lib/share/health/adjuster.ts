/**
 * `HttpHealthCheckShareAdjuster` (`http_health`): checks an endpoint over HTTP every
 * `interval` seconds and gives it a share of 1 while healthy, 0 otherwise. The rules of
 * the status live in `health_state.ts`; timing and concurrency in `check_scheduler.ts`.
 *
 * What a check result means:
 * - success: status 200 exactly, as in the original (redirects are not followed: a 301
 *   says nothing about whether this instance can serve).
 * - failure: any other status, a timeout, a refused or reset connection, anything else.
 * - inconclusive: the endpoint's host name does not resolve. That is the checker's (DNS)
 *   problem, not the endpoint's, so the status stays as it was. A lookup slower than
 *   `timeout` cannot be told apart from a slow endpoint and counts as a timeout.
 *
 * How a check is made: in production the raw HTTP/1.1 client of `http_probe.ts`, on one
 * kept-alive connection per endpoint, with a bounded blind spot:
 * - a new connection is dialled at least every `REDIAL_EVERY` (10) checks, and after any
 *   failed check every check dials a new one until one succeeds. A kept-alive connection
 *   alone would hide an instance that stopped accepting new connections (listener closed,
 *   accept loop hung, backlog full) while it still answers the connection it accepted
 *   earlier, and nginx, which opens new connections, would fail on it. With the redial,
 *   such an instance is out within `REDIAL_EVERY - 1 + unhealthy_threshold` checks
 *   (11 × `interval` with the defaults), where a crash, a refused connection, a non-200
 *   answer or a timeout still takes only `unhealthy_threshold` checks.
 * - why not a new connection per check, which would see every such instance at once: a
 *   TCP handshake and teardown per check cost far more CPU (2,000 endpoints checked every
 *   second: ~42 % of a core, against 16 % now; bench/healthcheck.ts), and Deno's floor
 *   for that many connections a second (~35 %) is above the 25 % budget.
 * - a kept connection the endpoint closed while idle (its keep-alive timeout, often at or
 *   below a check interval) is retried at once on a new connection: it never counts as a
 *   failure.
 * - the connection is held between checks: allow aurproxy one file descriptor per
 *   health-checked endpoint. It is closed when the endpoint's adjuster stops.
 * Every phase, the connect included, is bounded by `timeout`. Unit tests inject `fetch`
 * (driven by a fake clock), which sends `Connection: close`: a connection per check.
 *
 * `port_name`: the check goes to `endpoint.ports[port_name]` instead of the traffic port.
 * An endpoint without that port is never checked: it stays initializing with share 0 and
 * its detail names the missing port (the original crashed its checker on this), because
 * sending traffic to an instance whose health nobody can see would be worse.
 *
 * The factor's `state` (in `/status.json`): `status` (initializing, healthy, unhealthy, or
 * unchecked without the named port), `consecutiveSuccesses` and `consecutiveFailures`
 * against `healthyThreshold` and `unhealthyThreshold`, and `lastResult` (success, failure,
 * inconclusive; absent before the first check) with its `lastReason`, and `lastCheckAt`
 * (ms since epoch, when that check ended; absent before the first).
 *
 * @module
 */

import type { Clock, TimerId } from "../../clock.ts";
import type { HealthCheckConfig } from "../../model/config.ts";
import { type Endpoint, endpointKey } from "../../model/endpoint.ts";
import type { Logger } from "../../log.ts";
import type { MetricsRegistry } from "../../metrics/registry.ts";
import type { AdjusterContext, ShareAdjuster } from "../adjuster.ts";
import { classifyFetchError } from "./check_error.ts";
import { HttpProbe, REDIAL_EVERY } from "./probe.ts";
import type { CheckScheduler } from "./scheduler.ts";

export { classifyFetchError };
import {
  type CheckResult,
  describeHealth,
  healthData,
  healthShare,
  type HealthState,
  type HealthStatus,
  INITIAL_HEALTH,
  nextHealth,
  type Thresholds,
} from "./state.ts";
import type { ShareFactor } from "../../model/share.ts";

export interface HealthDeps {
  /** Shared by every health adjuster of the process: spreads and bounds the checks. */
  readonly scheduler: CheckScheduler;
  /**
   * Unit tests inject a fetch driven by a fake clock; without one, checks use the raw
   * HTTP probe of `http_probe.ts`.
   */
  readonly fetch?: typeof fetch;
  /** The raw probe dials a new connection at least every this many checks (tests only). */
  readonly redialEvery?: number;
  readonly logger: Logger;
  readonly metrics?: MetricsRegistry;
}

/** Counter `health_checks_total{result="success|failure|inconclusive"}`. */
export const CHECKS_METRIC = ["health_checks_total", "Health checks run, by result."] as const;
/** Gauge `health_endpoints{status="initializing|healthy|unhealthy|unchecked"}`. */
export const STATUS_METRIC = [
  "health_endpoints",
  "Health-checked endpoints, by status (unchecked: no port named port_name).",
] as const;

/** What {@linkcode httpCheck} needs. */
export interface HttpCheckOptions {
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly method: "GET" | "HEAD";
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Aborting it (the adjuster stopped) ends the check at once. */
  readonly signal: AbortSignal;
}

/**
 * One HTTP check through `fetch` (injected by unit tests), on its own connection
 * (`Connection: close`, see the module comment); never throws. The timeout runs on
 * `clock` so fake clocks drive it too.
 *
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * const url = `http://127.0.0.1:${server.addr.port}/health`;
 * const r = await httpCheck({
 *   fetch, url, method: "GET", timeoutMs: 2000,
 *   clock: systemClock, signal: new AbortController().signal,
 * });
 * console.log(r.kind); // "success"
 * await server.shutdown();
 * ```
 */
export async function httpCheck(o: HttpCheckOptions): Promise<CheckResult> {
  const ac = new AbortController();
  let timedOut = false;
  let timer: TimerId | undefined = o.clock.setTimeout(() => {
    timer = undefined;
    timedOut = true;
    ac.abort();
  }, o.timeoutMs);
  const clearTimer = () => {
    if (timer !== undefined) o.clock.clearTimeout(timer);
    timer = undefined;
  };
  // Cleared synchronously on stop, so a stopped adjuster leaves no timer behind.
  const onAbort = () => {
    clearTimer();
    ac.abort();
  };
  if (o.signal.aborted) onAbort();
  o.signal.addEventListener("abort", onAbort);
  try {
    const res = await o.fetch(o.url, {
      method: o.method,
      signal: ac.signal,
      redirect: "manual",
      headers: { "connection": "close", "user-agent": "aurproxy-health-check" },
    });
    // Never read, always released: an unread body would pin the connection.
    await res.body?.cancel().catch(() => {});
    return res.status === 200
      ? { kind: "success" }
      : { kind: "failure", reason: `status ${res.status}` };
  } catch (err) {
    if (timedOut) return { kind: "failure", reason: `timeout after ${o.timeoutMs} ms` };
    if (o.signal.aborted) return { kind: "inconclusive", reason: "check cancelled" };
    return classifyFetchError(err);
  } finally {
    clearTimer();
    o.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * The URL checked for `endpoint`, or `undefined` when it has no port named `port_name`.
 *
 * @example
 * ```ts
 * healthCheckUrl({ host: "::1", port: 80, ports: { health: 81 } }, "/health", "health");
 * // "http://[::1]:81/health"
 * ```
 */
export function healthCheckUrl(
  endpoint: Endpoint,
  route: string,
  portName?: string,
): string | undefined {
  const port = portName === undefined ? endpoint.port : endpoint.ports[portName];
  if (port === undefined) return undefined;
  return `http://${endpointKey({ host: endpoint.host, port })}${route}`;
}

/**
 * Builds the adjuster for one endpoint; checks begin at `start()`.
 *
 * @example
 * ```ts
 * import { systemClock } from "../../clock.ts";
 * import { memoryLogger } from "../../log.ts";
 * import { CheckScheduler } from "./scheduler.ts";
 *
 * const a = healthAdjuster(
 *   { kind: "http_health", path: "", route: "/health", interval: 5, timeout: 3,
 *     unhealthyThreshold: 2, healthyThreshold: 2, httpMethod: "GET" },
 *   { endpoint: { host: "127.0.0.1", port: 9, ports: {} }, clock: systemClock, signal: () => {} },
 *   { scheduler: new CheckScheduler({ clock: systemClock }), logger: memoryLogger() },
 * );
 * console.log(a.current()); // share 0 until the first checks pass ("initializing")
 * ```
 */
export function healthAdjuster(
  cfg: HealthCheckConfig,
  ctx: AdjusterContext,
  deps: HealthDeps,
): ShareAdjuster {
  const t: Thresholds = {
    healthyThreshold: cfg.healthyThreshold,
    unhealthyThreshold: cfg.unhealthyThreshold,
  };
  const { endpoint, clock } = ctx;
  const url = healthCheckUrl(endpoint, cfg.route, cfg.portName);
  // An injected fetch (unit tests with a fake clock) goes through httpCheck; production
  // uses the raw probe, several times cheaper per check.
  const probe = url === undefined || deps.fetch
    ? undefined
    : new HttpProbe(url, cfg.httpMethod, { redialEvery: deps.redialEvery ?? REDIAL_EVERY });
  const check = (o: Omit<HttpCheckOptions, "fetch">) =>
    deps.fetch ? httpCheck({ ...o, fetch: deps.fetch }) : probe!.check(o);
  const metrics = deps.metrics;
  let state: HealthState = INITIAL_HEALTH;
  /** The factor of `state`, built once per check rather than on every snapshot. */
  let shown: { of: HealthState; at?: number; factor: ShareFactor } | undefined;
  /** When the last check ended (ms), for the status page's "last check 3 s ago". */
  let lastCheckAt: number | undefined;
  let remove: (() => void) | undefined;
  let phase: "new" | "started" | "stopped" = "new";

  const counted = (): HealthStatus | "unchecked" => url === undefined ? "unchecked" : state.status;
  const addToGauge = (status: string, delta: number) => {
    if (!metrics) return;
    const labels = { status };
    metrics.set(
      STATUS_METRIC[0],
      STATUS_METRIC[1],
      metrics.get(STATUS_METRIC[0], labels) + delta,
      labels,
    );
  };

  const run = async (signal: AbortSignal) => {
    const r = await check({
      url: url!,
      method: cfg.httpMethod,
      timeoutMs: cfg.timeout * 1000,
      clock,
      signal,
    });
    if (phase === "stopped" || signal.aborted) return;
    metrics?.inc(CHECKS_METRIC[0], CHECKS_METRIC[1], { result: r.kind });
    lastCheckAt = clock.now();
    const before = state.status;
    state = nextHealth(state, r, t);
    if (r.kind === "inconclusive" && state.inconclusive === 1) {
      deps.logger.warn(`${url}: cannot check (${r.reason}); status stays ${state.status}`);
    }
    if (state.status !== before) {
      addToGauge(before, -1);
      addToGauge(state.status, 1);
      deps.logger.info(`${url}: ${before} -> ${describeHealth(state, t)}`);
      ctx.signal();
    }
  };

  return {
    start() {
      if (phase !== "new") return;
      phase = "started";
      addToGauge(counted(), 1);
      if (url === undefined) {
        deps.logger.warn(
          `${endpointKey(endpoint)} has no port named "${cfg.portName}": not health-checked, ` +
            `share stays 0`,
        );
        return;
      }
      remove = deps.scheduler.add({
        intervalMs: cfg.interval * 1000,
        timeoutMs: cfg.timeout * 1000,
        run,
      });
    },
    stop() {
      if (phase === "stopped") return;
      if (phase === "started") addToGauge(counted(), -1);
      phase = "stopped";
      remove?.();
      remove = undefined;
      probe?.close();
    },
    current(): ShareFactor {
      if (url === undefined) {
        return {
          name: "health",
          share: 0,
          detail: `initializing: endpoint has no port named "${cfg.portName}"`,
          state: { status: "unchecked", missingPort: cfg.portName! },
        };
      }
      if (shown?.of !== state || shown.at !== lastCheckAt) {
        const data = healthData(state, t);
        shown = {
          of: state,
          at: lastCheckAt,
          factor: {
            name: "health",
            share: healthShare(state),
            detail: describeHealth(state, t),
            state: lastCheckAt === undefined ? data : { ...data, lastCheckAt },
          },
        };
      }
      return shown.factor;
    },
  };
}
