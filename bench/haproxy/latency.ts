/**
 * Discovery-to-traffic through one backend kind: a member znode is created and a client
 * polling through the proxy (one request at a time, a new connection each) times the
 * first answer from that member's backend; then the znode is deleted and the last answer
 * from it is timed (gone once nothing came from it for 300 ms). Every request must be
 * answered 200. aurproxy runs with `--max-update-frequency=0`, as in bench/discovery.
 *
 * @module
 */

import { waitFor } from "../../testing/ports.ts";
import type { TestZooKeeper } from "../../testing/zookeeper.ts";
import { backend, jobPath, registry } from "../discovery/aurproxy.ts";
import { epochMs } from "../lib.ts";
import { startAnswerPoller } from "../answer_poller.ts";
import { auroraSource, type Kind, startProxy } from "./stack.ts";

/** What one kind's trials measured. */
export interface LatencyResult {
  readonly joins: number[];
  readonly leaves: number[];
  readonly requests: number;
  readonly failed: number;
  /** Reloads aurproxy made over all trials (warm-up excluded). */
  readonly reloads: number;
}

/** Runs `warmup` + `trials` join/leave trials through `kind`. */
export async function latency(
  zk: TestZooKeeper,
  kind: Kind,
  o: { trials: number; warmup: number },
): Promise<LatencyResult> {
  const job = `lat${kind}${Math.random().toString(36).slice(2, 7)}`;
  const path = jobPath("bench", job);
  const reg = await registry(zk);
  await reg.prepare(path);
  const base = backend("base");
  await reg.add(path, base.port);
  const stack = await startProxy(kind, [auroraSource(zk.connectString, job)], {
    flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
  });
  const out = { joins: [] as number[], leaves: [] as number[] };
  const poller = startAnswerPoller(stack.port);
  const { first, last } = poller;
  const trialBackends: ReturnType<typeof backend>[] = [];
  let reloadsAtStart = 0;
  try {
    await waitFor("base serving", () => first.has("base"), 30_000);
    const total = o.warmup + o.trials;
    for (let k = 0; k < total; k++) {
      if (k === o.warmup) {
        out.joins.length = 0;
        out.leaves.length = 0;
        poller.resetCounts();
        reloadsAtStart = await stack.reloads();
      }
      const b = backend(`t${k}`);
      trialBackends.push(b);
      const created = epochMs();
      const member = await reg.add(path, b.port);
      await waitFor(`${b.name} serving`, () => first.has(b.name), 60_000, 1);
      out.joins.push(first.get(b.name)! - created);
      // Let the change settle (nginx retires its old workers 100 ms after a reload).
      await new Promise((r) => setTimeout(r, 250));
      const removed = epochMs();
      await reg.remove(member);
      await waitFor(
        `${b.name} gone`,
        () => epochMs() - Math.max(last.get(b.name)!, removed) > 300,
        60_000,
        5,
      );
      out.leaves.push(Math.max(0, last.get(b.name)! - removed));
      await b.close();
      console.error(
        `  ${kind} ${k < o.warmup ? "warm-up" : "trial"} ${k + 1}/${total}: join ${
          out.joins.at(-1)!.toFixed(1)
        } ms, leave ${out.leaves.at(-1)!.toFixed(1)} ms`,
      );
    }
    const reloads = (await stack.reloads()) - reloadsAtStart;
    await poller.stop();
    return { ...out, ...poller.counts(), reloads };
  } finally {
    await poller.stop();
    await stack.stop();
    await reg.close();
    await base.close();
    for (const b of trialBackends) await b.close().catch(() => {});
  }
}
