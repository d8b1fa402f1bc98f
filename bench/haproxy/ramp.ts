/**
 * Reloads during a ramp: a job of one member gets `members` more at once, each
 * health-checked (HttpHealthCheckShareAdjuster) and eased in over `rampSeconds`
 * (RampingShareAdjuster, a weight step every second); counted until the ramp is over
 * are aurproxy's reloads and, for HAProxy, its runtime API changes. At the end every
 * member must be in traffic at its full weight.
 *
 * @module
 */

import { jobPath, registry } from "../discovery/aurproxy.ts";
import { endpointsIn } from "../discovery/aurproxy.ts";
import type { TestZooKeeper } from "../../testing/zookeeper.ts";
import { waitFor } from "../../testing/ports.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxKeys } from "../../testing/aurproxy_stack.ts";
import { auroraSource, type Kind, startProxy } from "./stack.ts";

/** What one ramp measured. */
export interface RampResult {
  readonly kind: Kind;
  /** Which variant (set by the caller). */
  readonly label?: string;
  readonly members: number;
  readonly reloads: number;
  /** HAProxy's `reloads` count on the master CLI over the ramp (kind haproxy). */
  readonly masterReloads?: number;
  /** Runtime API changes aurproxy applied over the ramp (kind haproxy). */
  readonly runtimeChanges?: number;
  /** Members in traffic at the end (servers up with a weight, or nginx.conf servers). */
  readonly liveAtEnd: number;
  readonly seconds: number;
}

/** Runs one ramp through `kind` on members at `ports` (the first is the job's only one before). */
export async function ramp(
  zk: TestZooKeeper,
  kind: Kind,
  ports: readonly number[],
  o: { members: number; rampSeconds: number; top?: Record<string, unknown> },
): Promise<RampResult> {
  const job = `ramp${kind}${Math.random().toString(36).slice(2, 7)}`;
  const path = jobPath("bench", job);
  const reg = await registry(zk);
  await reg.prepare(path);
  await reg.add(path, ports[0]);
  const adjusters = [
    {
      share_adjuster_class:
        "tellapart.aurproxy.share.adjusters.health.HttpHealthCheckShareAdjuster",
      route: "/health",
      interval: 1,
      timeout: 0.5,
    },
    {
      share_adjuster_class: "tellapart.aurproxy.share.adjusters.ramp.RampingShareAdjuster",
      ramp_delay: 0,
      ramp_seconds: o.rampSeconds,
      update_frequency: 1,
    },
  ];
  const stack = await startProxy(kind, [auroraSource(zk.connectString, job, adjusters)], {
    flags: ["--max-update-frequency=1", "--weight-adjustment-delay-seconds=0"],
    top: o.top,
  });
  try {
    await waitFor(
      "base serving",
      async () => (await httpGet(stack.port, "/")).status === 200,
      30_000,
    );
    // Past the first member's own ramp, so only the newcomers change.
    await new Promise((r) => setTimeout(r, (o.rampSeconds + 2) * 1000));
    const r0 = await stack.reloads();
    const m0 = stack.haproxy ? (await stack.haproxy.master.showProc()).master.reloads : 0;
    const c0 = (await stack.proc.metrics())["aurproxy.haproxy_runtime_changes"] ?? 0;
    const t0 = performance.now();
    await Promise.all(ports.slice(1, o.members + 1).map((p) => reg.add(path, p)));
    // The ramp, the first checks and the last update's interval.
    await new Promise((r) => setTimeout(r, (o.rampSeconds + 4) * 1000));
    const reloads = (await stack.reloads()) - r0;
    const seconds = (performance.now() - t0) / 1000;
    let liveAtEnd: number;
    let extra = {};
    if (stack.haproxy) {
      const state = await stack.haproxy.api.showServersState();
      const mine = new Set(ports.slice(0, o.members + 1));
      liveAtEnd = state.filter((s) =>
        mine.has(s.port) && s.adminState === "ready" && s.weight > 0
      ).length;
      extra = {
        masterReloads: (await stack.haproxy.master.showProc()).master.reloads - m0,
        runtimeChanges: ((await stack.proc.metrics())["aurproxy.haproxy_runtime_changes"] ?? 0) -
          c0,
      };
    } else {
      liveAtEnd = await endpointsIn(nginxKeys(stack.dir).configuration_file);
    }
    return { kind, members: o.members, reloads, liveAtEnd, seconds, ...extra };
  } finally {
    await stack.stop();
    await reg.close();
  }
}
