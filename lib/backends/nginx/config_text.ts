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
