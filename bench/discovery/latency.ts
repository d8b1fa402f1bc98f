/**
 * Join and leave latency: from the `create` of a member znode to the first request
 * through nginx answered by that backend, and from its deletion to the last one; a single
 * client polls through nginx all along, one request at a time on a new connection each
 * (at once, or pausing `pauseMs` between requests), and every request it sends must be
 * answered 200. The first `warmup` trials are not counted.
 *
 * Timed trials (`paired: false`) join, wait until the reload is confirmed, leave, and wait
 * until the backend has had no request for 300 ms: one change per update, so aurproxy's
 * step timestamps (see trace.ts) give each change's breakdown. With the original defaults
 * (10 s between updates) a trial's leave goes out with the next trial's join instead
 * (`paired: true`), so the two share an update: about 10 s per trial, not 20.
 *
 * @module
 */

import { waitFor } from "../../testing/ports.ts";
import type { TestZooKeeper } from "../../testing/zookeeper.ts";
import { epochMs } from "../lib.ts";
import { startAnswerPoller } from "../answer_poller.ts";
import { backend, jobPath, registry, startAurproxy } from "./aurproxy.ts";
import { chainAfter, type Step, stepDurations } from "./trace.ts";

/** What a latency run measured. */
export interface LatencyResult {
  readonly joins: number[];
  readonly leaves: number[];
  /** Step durations of each change that has a complete trace (timed trials only). */
  readonly steps: Record<Step, number>[];
  /** SIGHUP -> first answer from the new backend, per join (timed trials only). */
  readonly hupToFirst: number[];
  /** SIGHUP -> last answer from the removed backend, per leave (timed trials only). */
  readonly hupToLast: number[];
  readonly requests: number;
  readonly failed: number;
}

export interface LatencyOptions {
  readonly trials: number;
  /** Trials run first and not counted: the first changes after start run cold code. */
  readonly warmup?: number;
  readonly flags: readonly string[];
  readonly paired: boolean;
  readonly context?: Record<string, unknown>;
  readonly denoFlags?: readonly string[];
  /**
   * Pause between the client's requests: 0 sends the next as soon as the last is answered
   * (thousands a second), 1 leaves nginx's workers idle between requests, which is when
   * old workers keep taking new connections after a reload (see bench/reload.ts).
   */
  readonly pauseMs?: number;
}

/** Runs the trials on a job of its own (one `base` member plus the trial's). */
export async function latency(zk: TestZooKeeper, o: LatencyOptions): Promise<LatencyResult> {
  const job = `lat${Math.random().toString(36).slice(2, 8)}`;
  const path = jobPath("bench", job);
  const reg = await registry(zk);
  await reg.prepare(path);
  const base = backend("base");
  await reg.add(path, base.port);
  const ap = await startAurproxy(zk, [{ location: "/", role: "bench", job }], {
    flags: [...o.flags, ...(o.paired ? [] : ["--log-level=debug"])],
    context: o.context,
    denoFlags: o.denoFlags,
  });
  const out: LatencyResult = {
    joins: [],
    leaves: [],
    steps: [],
    hupToFirst: [],
    hupToLast: [],
    requests: 0,
    failed: 0,
  };
  const poller = startAnswerPoller(ap.proxyPort, { pauseMs: o.pauseMs });
  const { first, last } = poller;
  const trialBackends: ReturnType<typeof backend>[] = [];
  const members: string[] = [];
  const created: number[] = [];
  const join = async (k: number) => {
    trialBackends[k] = backend(`t${k}`);
    created[k] = epochMs();
    members[k] = await reg.add(path, trialBackends[k].port);
  };
  /**
   * The confirmed reload of the change made at `from`, so the next starts on a quiet
   * system: nginx's master sleeps 100 ms after starting new workers and handles no SIGHUP
   * meanwhile, so a change sooner after a reload would time that sleep too.
   */
  const settled = async (from: number) => {
    await waitFor(
      "reload confirmed",
      () => {
        const c = chainAfter(ap.trace, from);
        return c && epochMs() - c.confirmed > 20 && epochMs() - c.signalling > 150;
      },
      10_000,
      5,
    );
    return chainAfter(ap.trace, from)!;
  };
  try {
    await waitFor("base serving", () => first.has("base"), 30_000);
    const warmup = o.warmup ?? 0;
    const total = warmup + o.trials;
    if (o.paired) await join(0);
    for (let k = 0; k < total; k++) {
      // Warm-up trials are measured like the others, then forgotten.
      if (k === warmup) {
        for (const xs of Object.values(out)) if (Array.isArray(xs)) xs.length = 0;
      }
      if (!o.paired) await join(k);
      const name = trialBackends[k].name;
      await waitFor(`${name} serving`, () => first.has(name), 60_000, 1);
      out.joins.push(first.get(name)! - created[k]);
      if (!o.paired) {
        const c = await settled(created[k]);
        out.steps.push(stepDurations(c, created[k]));
        out.hupToFirst.push(first.get(name)! - c.signalling);
      }
      const removed = epochMs();
      await Promise.all([
        reg.remove(members[k]),
        o.paired && k + 1 < total ? join(k + 1) : undefined,
      ]);
      // Gone once nothing from it came back for 300 ms.
      await waitFor(
        `${name} gone`,
        () => epochMs() - Math.max(last.get(name)!, removed) > 300,
        60_000,
        5,
      );
      out.leaves.push(Math.max(0, last.get(name)! - removed));
      if (!o.paired) {
        const c = await settled(removed);
        out.steps.push(stepDurations(c, removed));
        out.hupToLast.push(last.get(name)! - c.signalling);
      }
      await trialBackends[k].close();
      console.error(
        `  ${k < warmup ? "warm-up" : "trial"} ${k + 1}/${total}: join ${
          out.joins.at(-1)!.toFixed(0)
        } ms, leave ${out.leaves.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    await poller.stop();
    await ap.stop();
    await reg.close();
    await base.close();
    for (const b of trialBackends) await b.close();
  }
  return { ...out, ...poller.counts() };
}
