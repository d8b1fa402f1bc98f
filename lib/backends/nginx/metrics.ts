/**
 * The counters the nginx backend keeps (prefixed `aurproxy_` by the registry).
 *
 * @module
 */

/** A counter: its name and help text. */
export type NginxMetric = readonly [name: string, help: string];

/** Every counter of the nginx backend, declared (at 0) when the backend is made. */
export const NGINX_METRICS = {
  writes: ["config_writes_total", "nginx configs written to the live path."],
  invalid: ["validation_failures_total", "Rendered configs rejected by nginx -t."],
  reloads: ["reloads_total", "nginx reloads confirmed (new workers started)."],
  reloadFailures: ["reload_failures_total", "nginx reloads that failed or were not confirmed."],
  rollbacks: [
    "rollbacks_total",
    "Configs that passed nginx -t but left nginx without workers at reload, replaced by <file>.1.",
  ],
  errors: ["apply_errors_total", "Applies that failed writing the config or signalling nginx."],
} as const satisfies Record<string, NginxMetric>;
