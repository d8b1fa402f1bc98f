/**
 * What the backend reads from a config text: what it means (comments aside) and how many
 * workers it asks for.
 *
 * @module
 */

/** Workers nginx runs for a `worker_processes` value ("auto": one per CPU). */
function workersFor(value: string): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : navigator.hardwareConcurrency || 1;
}

/** Workers a config text asks for. */
export function workerCountOf(configText: string): number {
  return workersFor(/^worker_processes\s+([^;]+);/m.exec(configText)?.[1] ?? "1");
}

/**
 * The config without its comments: the audit comments change with every health check and
 * ramp step, and a reload for a comment would be pure cost (new workers, cold upstream
 * connections). Safe because nothing aurproxy renders outside a comment contains `#`.
 */
export function configMeaning(text: string): string {
  return text.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trimEnd()).filter(Boolean)
    .join("\n");
}

const TIME_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * An nginx time value in ms (`30s`, `1m30s`, `500ms`, a bare number of seconds), or
 * undefined when it is not one.
 *
 * @example
 * ```ts
 * nginxTimeMs("1m30s"); // 90000
 * nginxTimeMs("soon"); // undefined
 * ```
 */
export function nginxTimeMs(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const parts = [...v.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== v) return undefined;
  return parts.reduce((sum, p) => sum + Number(p[1]) * TIME_UNITS_MS[p[2]], 0);
}

/**
 * The config's `worker_shutdown_timeout` in ms: how long nginx lets workers finish their
 * requests after a graceful stop (SIGQUIT) before it closes their connections; undefined
 * when the config does not set one (nginx then waits for every request, however long).
 *
 * @example
 * ```ts
 * workerShutdownTimeoutMsOf("worker_shutdown_timeout 10s;\nevents {}\n"); // 10000
 * ```
 */
export function workerShutdownTimeoutMsOf(configText: string): number | undefined {
  const value = /^worker_shutdown_timeout\s+([^;]+);/m.exec(configText)?.[1];
  return value === undefined ? undefined : nginxTimeMs(value);
}
