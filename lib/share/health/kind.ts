/**
 * `HttpHealthCheckShareAdjuster` (`http_health`): share 1 while an endpoint answers its
 * health check, 0 otherwise.
 *
 * @module
 */

import { checkHttpTarget, checkName } from "../../config/checks.ts";
import { describe } from "../../config/walker.ts";
import type { HealthCheckConfig } from "../../model/config.ts";
import { defineAdjusterKind } from "../kind.ts";
import { CHECKS_METRIC, healthAdjuster } from "./adjuster.ts";

const ADJ = "tellapart.aurproxy.share.adjusters";

/**
 * The original's constructor defaults (`HttpHealthCheckShareAdjuster.__init__`): a key
 * left out means what it meant there. Seconds for `interval` and `timeout`.
 */
export const HEALTH_CHECK_DEFAULTS = Object.freeze(
  {
    route: "/health",
    interval: 5,
    timeout: 3,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    httpMethod: "GET",
  } as const,
);

/** The HTTP health-check adjuster kind. */
export const healthCheckKind = defineAdjusterKind<HealthCheckConfig>({
  kind: "http_health",
  canonical: `${ADJ}.HttpHealthCheckShareAdjuster`,
  aliases: ["http_health", `${ADJ}.health.HttpHealthCheckShareAdjuster`],
  parse: (f, common) => {
    const d = HEALTH_CHECK_DEFAULTS;
    const route = f.stringOr("route", d.route, checkHttpTarget);
    const interval = f.number("interval", { def: d.interval, above: 0 });
    // A check always ends before the next one is due. The original had no such rule, so
    // its default timeout (3 s) shrinks to a shorter interval it was not given with.
    const timeout = f.number("timeout", {
      def: Math.min(d.timeout, interval || d.timeout),
      above: 0,
    });
    if (timeout > interval) {
      f.fail("timeout", `must not exceed interval (${interval}), got ${timeout}`);
    }
    // Case-insensitive, as in the original.
    const m = f.raw("http_method") ?? d.httpMethod;
    const method = typeof m === "string" ? m.toUpperCase() : "";
    if (method !== "GET" && method !== "HEAD") {
      f.fail("http_method", `expected GET or HEAD, got ${describe(m)}`);
    }
    return {
      ...common,
      kind: "http_health",
      route,
      interval,
      timeout,
      unhealthyThreshold: f.number("unhealthy_threshold", {
        def: d.unhealthyThreshold,
        min: 1,
        integer: true,
      }),
      healthyThreshold: f.number("healthy_threshold", {
        def: d.healthyThreshold,
        min: 1,
        integer: true,
      }),
      httpMethod: method === "HEAD" ? "HEAD" : "GET",
      portName: f.string("port_name", checkName),
    };
  },
  create: (c, deps) => {
    // Exported as 0 from the start, so a dashboard sees "no failures" rather than nothing.
    for (const result of ["success", "failure", "inconclusive"]) {
      deps.metrics?.declareCounter(CHECKS_METRIC[0], CHECKS_METRIC[1], { result });
    }
    const healthDeps = { ...deps, logger: deps.logger.child("health") };
    return (ctx) => healthAdjuster(c, ctx, healthDeps);
  },
});
