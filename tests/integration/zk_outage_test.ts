import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { ServerSetSource } from "../../lib/sources/serverset.ts";
import type { Source } from "../../lib/sources/source.ts";
import { EndpointStateStore } from "../../lib/sources/state_file.ts";
import { announce, createNode } from "../../lib/zk/announcer.ts";
import { ZkSession } from "../../lib/zk/session.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { startTcpRelay } from "../helpers/tcp_relay.ts";
import { startZooKeeper } from "../helpers/zookeeper.ts";

const ports = (s: Source) => s.endpoints().map((e) => e.port).sort((a, b) => a - b).join(",");
const until = (s: Source, expected: string, ms = 15_000) =>
  waitFor(`endpoints ${expected} (have ${ports(s)})`, () => ports(s) === expected, ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const member = (port: number) =>
  JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port }, status: "ALIVE" });

function deps(sessionTimeoutMs: number) {
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs, clock: systemClock, logger, metrics });
  return { logger, metrics, sessions, clock: systemClock };
}

Deno.test("zk outage: ZooKeeper down longer than the session timeout keeps the last endpoints; after restart changes are seen", async () => {
  const zk = await startZooKeeper();
  const d = deps(1500);
  const admin = new ZkSession(zk.connectString, {
    sessionTimeoutMs: 4000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  try {
    await admin.waitConnected(10_000);
    await createNode(admin, "/sd/web/member_0000000001", member(9001));
    await admin.close();
    const src = new ServerSetSource({
      zkServers: zk.connectString,
      zkPath: "/sd/web",
      zkMemberPrefix: "member_",
    }, d);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await until(src, "9001");
    const before = changes;
    await zk.stop();
    await sleep(3500); // well past the 1.5 s session timeout
    strictEqual(ports(src), "9001", "last known endpoints are kept while ZooKeeper is down");
    strictEqual(src.status().healthy, false);
    strictEqual(d.sessions.health().level, "degraded");
    await zk.start();
    const again = new ZkSession(zk.connectString, {
      sessionTimeoutMs: 4000,
      clock: systemClock,
      logger: memoryLogger(),
    });
    await again.waitConnected(10_000);
    await waitFor("source reconnected", () => src.status().healthy, 15_000);
    strictEqual(changes, before, "reconnecting to an unchanged registry is not a change");
    await createNode(again, "/sd/web/member_0000000002", member(9002));
    await until(src, "9001,9002");
    strictEqual(changes, before + 1);
    await again.close();
    await src.stop();
  } finally {
    await d.sessions.closeAll();
    await zk.destroy();
  }
});

Deno.test("zk outage: a network cut that expires the session; a new session re-watches and sees what changed meanwhile", async () => {
  const zk = await startZooKeeper();
  const relay = startTcpRelay(zk.port);
  const d = deps(1200);
  const announcer = new ZkSession(zk.connectString, {
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  try {
    await announcer.waitConnected(10_000);
    const m1 = await announce(announcer, "/aurora/r/e/j", { host: "127.0.0.1", port: 9001 });
    const src = new ServerSetSource({
      zkServers: `127.0.0.1:${relay.port}`,
      zkPath: "/aurora/r/e/j",
      zkMemberPrefix: "member_",
    }, d);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await until(src, "9001");
    const session = d.sessions.get(`127.0.0.1:${relay.port}`);
    relay.pause();
    // While cut off: the registry changes.
    await announce(announcer, "/aurora/r/e/j", { host: "127.0.0.1", port: 9002 });
    await announcer.remove(m1);
    await sleep(3000);
    strictEqual(ports(src), "9001", "last known endpoints are kept during the cut");
    relay.resume();
    await until(src, "9002");
    strictEqual(session.expirations >= 1, true, "the session expired and was rebuilt");
    strictEqual(
      changes,
      2,
      "one change for the join before the cut, one for what changed during it",
    );
    await src.stop();
  } finally {
    await d.sessions.closeAll();
    await announcer.close();
    await relay.close();
    await zk.destroy();
  }
});

Deno.test("zk outage: restarted with ZooKeeper unreachable, the source serves the state file; without one, nothing", async () => {
  const dir = await Deno.makeTempDir();
  const statePath = `${dir}/state.json`;
  const zk = await startZooKeeper();
  try {
    // A first run writes the state file.
    {
      const d = deps(4000);
      const state = await EndpointStateStore.load(statePath, {
        maxAgeSeconds: 3600,
        clock: systemClock,
        logger: d.logger,
      });
      const admin = new ZkSession(zk.connectString, {
        sessionTimeoutMs: 4000,
        clock: systemClock,
        logger: memoryLogger(),
      });
      await admin.waitConnected(10_000);
      await createNode(admin, "/sd/api/member_0000000001", member(9101));
      await createNode(admin, "/sd/api/member_0000000002", member(9102));
      await admin.close();
      const src = new ServerSetSource({
        zkServers: zk.connectString,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, { ...d, state });
      await src.start();
      await until(src, "9101,9102");
      await src.stop();
      await state.stop();
      await d.sessions.closeAll();
    }
    await zk.destroy();
    const deadPort = freePort();
    // Restart with ZooKeeper unreachable and the state file present.
    {
      const d = deps(4000);
      const state = await EndpointStateStore.load(statePath, {
        maxAgeSeconds: 3600,
        clock: systemClock,
        logger: d.logger,
      });
      const src = new ServerSetSource({
        zkServers: `127.0.0.1:${deadPort}`,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, {
        ...d,
        state,
        startTimeoutMs: 500,
      });
      // Same source name as before, so the saved entry applies even on another ensemble address.
      const t0 = Date.now();
      await src.start();
      strictEqual(Date.now() - t0 < 3000, true, "start() is bounded");
      strictEqual(ports(src), "9101,9102");
      strictEqual(src.status().healthy, false);
      strictEqual(src.status().detail.includes("from the state file"), true, src.status().detail);
      strictEqual(
        d.logger.lines.some((l) =>
          l.includes("serving 2 last known endpoint(s) from the state file")
        ),
        true,
      );
      await src.stop();
      await state.stop();
      await d.sessions.closeAll();
    }
    // Without a state file: empty, and bounded too.
    {
      const d = deps(4000);
      const src = new ServerSetSource({
        zkServers: `127.0.0.1:${deadPort}`,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, {
        ...d,
        startTimeoutMs: 500,
      });
      await src.start();
      strictEqual(ports(src), "");
      strictEqual(src.status().detail, "ZooKeeper not reached yet: no endpoints");
      await src.stop();
      await d.sessions.closeAll();
    }
  } finally {
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
