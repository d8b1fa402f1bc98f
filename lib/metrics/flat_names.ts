/**
 * The registry under the original aurproxy's names: a flat list of dotted names and
 * values, as its `/metrics.json` served and its Librato and OpenTSDB publishers sent, so
 * existing dashboards and scripts keep working.
 *
 * Two kinds of names come out:
 * - the original's own (`aurproxy.update_attempted`, `aurproxy.proxy.active_connections`,
 *   ...), each computed from this project's metrics by {@linkcode ORIGINAL_NAMES};
 * - every metric of this project in the same style: the Prometheus name without its
 *   `aurproxy_` prefix and a counter's `_total`, after `aurproxy.`, then each label as
 *   `.key.value` in key order (`aurproxy_endpoints_live{pool="primary",upstream="web"}` is
 *   `aurproxy.endpoints_live.pool.primary.upstream.web`); a histogram as `.count` and `.sum`.
 *
 * Label values keep only letters, digits, `_` and `-` (others become `_`): a dot would add
 * a level to the name, and `:` or `|` would break StatsD's line format.
 *
 * @module
 */

import type { FamilyView, Labels } from "./registry.ts";

/** One value under a dotted name, with the original's metric type. */
export interface FlatMetric {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly value: number;
}

/** The root of every dotted name (the original's `set_root_prefix('aurproxy')`). */
export const ROOT = "aurproxy";

type Lookup = (name: string, labels?: Labels) => number | undefined;

/** One of the original's names and how it is computed (undefined: not exported). */
export interface OriginalName {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  readonly from: (get: Lookup) => number | undefined;
}

const diff = (a: number | undefined, b: number | undefined) =>
  a === undefined ? undefined : a - (b ?? 0);
const nginx = (state: string) => (get: Lookup) => get("aurproxy_nginx_connections", { state });

/**
 * The original's names. Its updater counted every periodic attempt, its nginx backend each
 * config written and each revert; here a failed update never leaves a half-applied config
 * (a rejected config is never made live, a failed reload leaves nginx on its previous one),
 * so every failed update is a successful "revert" and `revert_failed` stays 0.
 */
export const ORIGINAL_NAMES: readonly OriginalName[] = [
  {
    name: "update_attempted",
    type: "counter",
    help: "proxy updates attempted",
    from: (get) => get("aurproxy_update_attempts_total"),
  },
  {
    name: "update_attempt_succeeded",
    type: "counter",
    help: "updates that left the proxy on the desired config (changed or not)",
    from: (get) => get("aurproxy_update_successes_total"),
  },
  {
    name: "update_attempt_failed",
    type: "counter",
    help: "updates that failed",
    from: (get) => get("aurproxy_update_failures_total"),
  },
  {
    name: "update_succeeded",
    type: "counter",
    help: "updates that changed the config and had the proxy load it",
    from: (get) =>
      diff(get("aurproxy_update_successes_total"), get("aurproxy_update_unchanged_total")),
  },
  {
    name: "update_failed",
    type: "counter",
    help: "updates that failed",
    from: (get) => get("aurproxy_update_failures_total"),
  },
  {
    name: "revert_succeeded",
    type: "counter",
    help: "failed updates after which the previous config kept serving",
    from: (get) => get("aurproxy_update_failures_total"),
  },
  {
    name: "revert_failed",
    type: "counter",
    help: "failed updates that left no working config (never: nothing is half-applied)",
    from: (get) => get("aurproxy_update_failures_total") === undefined ? undefined : 0,
  },
  {
    name: "proxy.active_connections",
    type: "gauge",
    help: "nginx stub_status: active connections",
    from: nginx("active"),
  },
  {
    name: "proxy.total_accepts",
    type: "counter",
    help: "nginx stub_status: connections accepted",
    from: (get) => get("aurproxy_nginx_accepted_connections_total"),
  },
  {
    name: "proxy.total_handled",
    type: "counter",
    help: "nginx stub_status: connections handled",
    from: (get) => get("aurproxy_nginx_handled_connections_total"),
  },
  {
    name: "proxy.total_requests",
    type: "counter",
    help: "nginx stub_status: requests",
    from: (get) => get("aurproxy_nginx_requests_total"),
  },
  {
    name: "proxy.reading",
    type: "gauge",
    help: "nginx stub_status: connections reading the request",
    from: nginx("reading"),
  },
  {
    name: "proxy.writing",
    type: "gauge",
    help: "nginx stub_status: connections writing the response",
    from: nginx("writing"),
  },
  {
    name: "proxy.waiting",
    type: "gauge",
    help: "nginx stub_status: idle keep-alive connections",
    from: nginx("waiting"),
  },
];

function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function clean(v: string): string {
  return v.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/** The dotted name of one of this project's series (see the module doc). */
export function flatName(promName: string, type: FamilyView["type"], labels: Labels): string {
  let base = promName.startsWith(`${ROOT}_`) ? promName.slice(ROOT.length + 1) : promName;
  if (type === "counter") base = base.replace(/_total$/, "");
  const parts = Object.keys(labels).sort().flatMap((k) => [clean(k), clean(labels[k])]);
  return [ROOT, base, ...parts].join(".");
}

/**
 * The original's names, then every series of this project, sorted by name.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("update_attempts_total", "Updates.");
 * flatMetrics(m.families()).map((f) => f.name);
 * // ["aurproxy.update_attempted", "aurproxy.update_attempts"]
 * ```
 */
export function flatMetrics(families: readonly FamilyView[]): FlatMetric[] {
  const index = new Map<string, number>();
  const out = new Map<string, FlatMetric>();
  for (const f of families) {
    if (f.type === "histogram") {
      for (const h of f.values) {
        const name = flatName(f.name, f.type, h.labels);
        out.set(`${name}.count`, { name: `${name}.count`, type: "counter", value: h.count });
        out.set(`${name}.sum`, { name: `${name}.sum`, type: "counter", value: h.sum });
      }
      continue;
    }
    for (const v of f.values) {
      index.set(`${f.name}{${labelKey(v.labels)}}`, v.value);
      const name = flatName(f.name, f.type, v.labels);
      out.set(name, { name, type: f.type, value: v.value });
    }
  }
  const get: Lookup = (name, labels = {}) => index.get(`${name}{${labelKey(labels)}}`);
  for (const o of ORIGINAL_NAMES) {
    const value = o.from(get);
    const name = `${ROOT}.${o.name}`;
    if (value !== undefined) out.set(name, { name, type: o.type, value });
  }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * `/metrics.json`: the original's shape, a flat object of dotted names to values.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("update_attempts_total", "Updates.");
 * metricsJson(m.families())["aurproxy.update_attempted"]; // 1
 * ```
 */
export function metricsJson(families: readonly FamilyView[]): Record<string, number> {
  return Object.fromEntries(flatMetrics(families).map((m) => [m.name, m.value]));
}
