/**
 * aurproxy's own timeline of one change, from the step timestamps it logs at debug level
 * (`trace <step> ... t=<epoch ms>`: children_watch, updater, nginx backend), so the
 * benchmark can say where the time between a ZooKeeper event and nginx's SIGHUP goes.
 *
 * @module
 */

/** One step timestamp from aurproxy's log. */
export interface TraceEvent {
  readonly step: string;
  /** Epoch ms (aurproxy's clock: `performance.timeOrigin + performance.now()`). */
  readonly t: number;
}

/** The steps of one change, in the order they happen. */
export const STEPS = [
  "watch",
  "read",
  "scheduled",
  "started",
  "rendered",
  "written",
  "validated",
  "renamed",
  "signalling",
  "confirmed",
] as const;

export type Step = typeof STEPS[number];

/** What each interval ending at a step is, for the table. */
export const STEP_LABELS: Record<Step, string> = {
  watch: "ZooKeeper create/delete -> watch fired in aurproxy",
  read: "watch -> children and new member data read",
  scheduled: "read -> update scheduled (source changed, updater marked dirty)",
  started: "scheduled -> update started (updater timer)",
  rendered: "started -> config rendered (snapshot built, nginx.conf text)",
  written: "rendered -> temp file written (compare with the live config, write)",
  validated: "written -> validated (nginx -t)",
  renamed: "validated -> renamed (keep .1, rename into place)",
  signalling: "renamed -> SIGHUP (pid file, worker list)",
  confirmed: "SIGHUP -> reload confirmed (old workers retired)",
};

const LINE = / trace (\w+)\b.*? t=([\d.]+)$/;

/** The step timestamp in a log line, if it is one. */
export function parseTrace(line: string): TraceEvent | undefined {
  const m = LINE.exec(line);
  return m ? { step: m[1], t: Number(m[2]) } : undefined;
}

/**
 * The first complete chain of steps after `from` (epoch ms): the first watch at or after
 * it, then each step's first event after the previous one. Undefined when a step is
 * missing or the update found nothing to change.
 */
export function chainAfter(
  events: readonly TraceEvent[],
  from: number,
): Record<Step, number> | undefined {
  const out: Partial<Record<Step, number>> = {};
  let i = events.findIndex((e) => e.step === "watch" && e.t >= from);
  if (i < 0) return undefined;
  out.watch = events[i].t;
  for (const step of STEPS.slice(1)) {
    const j = events.findIndex((e, k) =>
      k > i && (e.step === step || (step === "written" && e.step === "unchanged"))
    );
    if (j < 0 || events[j].step === "unchanged") return undefined;
    out[step] = events[j].t;
    i = j;
  }
  return out as Record<Step, number>;
}

/** Duration of each step (ms) of a chain: from the previous step, the first from `from`. */
export function stepDurations(chain: Record<Step, number>, from: number): Record<Step, number> {
  const out = {} as Record<Step, number>;
  let prev = from;
  for (const s of STEPS) {
    out[s] = chain[s] - prev;
    prev = chain[s];
  }
  return out;
}
