/**
 * The registry's families as scrapers read them: Prometheus text format 0.0.4 (what
 * `promtool check metrics` checks) and OpenMetrics 1.0.0 (what a scraper asking for
 * `application/openmetrics-text` gets). The two differ in small, strict ways: in
 * OpenMetrics a counter family is named without `_total` (its sample keeps it), units get a
 * `# UNIT` line, `le` bounds are floats, and the text ends with `# EOF`.
 *
 * @module
 */

import type { FamilyView, Labels } from "./registry.ts";

/** Content type of {@linkcode prometheusText}. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of {@linkcode openMetricsText}. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

const UNITS = ["seconds", "bytes"];

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function number(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** OpenMetrics wants bucket bounds as floats: `1.0`, not `1`. */
function floatText(v: number): string {
  const s = number(v);
  return Number.isInteger(v) && !s.includes("e") ? `${s}.0` : s;
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k])}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

function samples(f: FamilyView, sampleName: string, le: (b: number) => string): string[] {
  if (f.type !== "histogram") {
    return f.values.map((v) => `${sampleName}${labelText(v.labels)} ${number(v.value)}`);
  }
  return f.values.flatMap((h) => [
    ...f.buckets.map((b, i) =>
      `${f.name}_bucket${labelText(h.labels, ["le", le(b)])} ${h.counts[i]}`
    ),
    `${f.name}_bucket${labelText(h.labels, ["le", "+Inf"])} ${h.count}`,
    `${f.name}_sum${labelText(h.labels)} ${number(h.sum)}`,
    `${f.name}_count${labelText(h.labels)} ${h.count}`,
  ]);
}

/**
 * Prometheus text format 0.0.4.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("reloads_total", "nginx reloads.");
 * prometheusText(m.families());
 * // "# HELP aurproxy_reloads_total nginx reloads.\n# TYPE aurproxy_reloads_total counter\naurproxy_reloads_total 1\n"
 * ```
 */
export function prometheusText(families: readonly FamilyView[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`);
    lines.push(`# TYPE ${f.name} ${f.type}`);
    lines.push(...samples(f, f.name, number));
  }
  return lines.join("\n") + "\n";
}

/**
 * OpenMetrics text format 1.0.0.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./registry.ts";
 * const m = new MetricsRegistry("aurproxy");
 * m.inc("reloads_total", "nginx reloads.");
 * openMetricsText(m.families());
 * // "# HELP aurproxy_reloads nginx reloads.\n# TYPE aurproxy_reloads counter\naurproxy_reloads_total 1\n# EOF\n"
 * ```
 */
export function openMetricsText(families: readonly FamilyView[]): string {
  const lines: string[] = [];
  for (const f of families) {
    const family = f.type === "counter" ? f.name.replace(/_total$/, "") : f.name;
    const help = f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
    lines.push(`# HELP ${family} ${help}`);
    lines.push(`# TYPE ${family} ${f.type}`);
    const unit = UNITS.find((u) => family.endsWith(`_${u}`));
    if (unit) lines.push(`# UNIT ${family} ${unit}`);
    lines.push(...samples(f, f.name, floatText));
  }
  lines.push("# EOF");
  return lines.join("\n") + "\n";
}

/**
 * Which format a scraper's `Accept` header asks for: OpenMetrics when it names
 * `application/openmetrics-text` with a non-zero quality, else Prometheus text.
 *
 * @example
 * ```ts
 * wantsOpenMetrics("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"); // true
 * wantsOpenMetrics("text/plain"); // false
 * ```
 */
export function wantsOpenMetrics(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const [type, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (type !== "application/openmetrics-text") return false;
    const q = params.find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
