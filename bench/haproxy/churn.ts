/**
 * Keep-alive traffic while members change: wrk (keep-alive connections) through the
 * proxy to a job of `members` members while one member is replaced (delete one znode,
 * create another on a fresh backend port) `perSecond` times a second for `seconds`. The
 * same stack is measured without churn for `seconds / 2` before and after, and the mean
 * of those two rates is the baseline: the churn sits between its own references.
 *
 * @module
 */

import type { TestZooKeeper } from "../../testing/zookeeper.ts";
import { waitFor } from "../../testing/ports.ts";
import { httpGet } from "../../testing/http.ts";
import { jobPath, registry } from "../discovery/aurproxy.ts";
import { wrk, type WrkResult } from "../lib.ts";
import { auroraSource, type Kind, startProxy } from "./stack.ts";

/** What one churn run measured. */
export interface ChurnResult {
  readonly kind: Kind;
  readonly before: WrkResult;
  readonly during: WrkResult;
  readonly after: WrkResult;
  /** Member replacements made during the churn. */
  readonly changes: number;
  readonly reloads: number;
  readonly flags: readonly string[];
}

const strip = (r: WrkResult): WrkResult => ({ ...r, raw: r.raw.trim() });

/** Runs the references and the churn through `kind` (see the module doc). */
export async function churn(
  zk: TestZooKeeper,
  kind: Kind,
  ports: readonly number[],
  o: { seconds: number; members: number; perSecond: number; flags: readonly string[] },
): Promise<ChurnResult> {
  const job = `churn${kind}${Math.random().toString(36).slice(2, 7)}`;
  const path = jobPath("bench", job);
  const reg = await registry(zk);
  await reg.prepare(path);
  const live: string[] = [];
  for (const p of ports.slice(0, o.members)) live.push(await reg.add(path, p));
  const stack = await startProxy(kind, [auroraSource(zk.connectString, job)], {
    flags: o.flags,
  });
  const url = `http://127.0.0.1:${stack.port}/`;
  try {
    await waitFor("serving", async () => (await httpGet(stack.port, "/")).status === 200, 30_000);
    await wrk(url, { seconds: 2 }); // warm-up
    const half = Math.max(1, Math.round(o.seconds / 2));
    const before = await wrk(url, { seconds: half });
    const r0 = await stack.reloads();
    let changing = true;
    let changes = 0;
    let next = o.members;
    const changer = (async () => {
      const every = 1000 / o.perSecond;
      const t0 = performance.now();
      while (changing) {
        const port = ports[next++ % ports.length];
        const oldest = live.shift()!;
        live.push(await reg.add(path, port));
        await reg.remove(oldest);
        changes++;
        const due = t0 + changes * every - performance.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
      }
    })();
    const during = await wrk(url, { seconds: o.seconds });
    changing = false;
    await changer;
    const reloads = (await stack.reloads()) - r0;
    // Let the last change land before the second reference.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await wrk(url, { seconds: half });
    return {
      kind,
      before: strip(before),
      during: strip(during),
      after: strip(after),
      changes,
      reloads,
      flags: o.flags,
    };
  } finally {
    await stack.stop();
    await reg.close();
  }
}
