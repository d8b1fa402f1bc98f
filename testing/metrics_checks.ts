/**
 * The outside judges of `/metrics`: `promtool check metrics` (Prometheus' own linter:
 * parse errors, `_total` on counters, units, help text) for the Prometheus text format, and
 * the OpenMetrics parser of the Python client (Debian's python3-prometheus-client), which
 * rejects anything the OpenMetrics 1.0 text format does not allow.
 *
 * @module
 */

const PYTHON_OM_CHECK = `
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = sys.stdin.read()
families = list(text_string_to_metric_families(text))
print(len(families))
`;

/** What a checker said: ok, and its output (the problems when not ok). */
export interface CheckResult {
  readonly ok: boolean;
  readonly output: string;
}

async function pipe(cmd: string, args: string[], input: string): Promise<CheckResult> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  return { ok: out.success, output: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
}

/**
 * `promtool check metrics` on Prometheus text.
 *
 * @example
 * ```ts
 * const r = await promtoolCheck("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
 * r.ok; // true
 * ```
 */
export function promtoolCheck(text: string): Promise<CheckResult> {
  return pipe("promtool", ["check", "metrics"], text);
}

/**
 * Parses OpenMetrics text strictly; `output` is the number of families when ok.
 *
 * @example
 * ```ts
 * const r = await openMetricsCheck("# TYPE x counter\nx_total 1\n# EOF\n");
 * r.output; // "1"
 * ```
 */
export function openMetricsCheck(text: string): Promise<CheckResult> {
  return pipe("/usr/bin/python3", ["-c", PYTHON_OM_CHECK], text);
}
