import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { AuroraSource } from "../../lib/sources/aurora.ts";
import { MesosMasterSource } from "../../lib/sources/mesos.ts";
import { ServerSetSource } from "../../lib/sources/serverset.ts";
import type { Source } from "../../lib/sources/source.ts";
import { announce, createNode } from "../../lib/zk/announcer.ts";
import { zk } from "../../lib/zk/client.ts";
import { ZkSession } from "../../lib/zk/session.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { waitFor } from "../helpers/ports.ts";
import { startZooKeeper, type TestZooKeeper } from "../helpers/zookeeper.ts";

// One ZooKeeper for the whole file; each test uses its own paths.
let server: TestZooKeeper | undefined;
async function zkServer(): Promise<TestZooKeeper> {
  return server ??= await startZooKeeper();
}

interface Ctx {
  sessions: ZkSessions;
  metrics: MetricsRegistry;
  logger: ReturnType<typeof memoryLogger>;
  /** A separate session playing Aurora's executor. */
  announcer: ZkSession;
  connectString: string;
}

async function withZk(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const z = await zkServer();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: systemClock, logger, metrics });
  const announcer = new ZkSession(z.connectString, {
    sessionTimeoutMs: 4000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  await announcer.waitConnected(10_000);
  try {
    await fn({ sessions, metrics, logger, announcer, connectString: z.connectString });
  } finally {
    await sessions.closeAll();
    await announcer.close();
  }
}

const ports = (s: Source) => s.endpoints().map((e) => e.port).sort((a, b) => a - b).join(",");

async function until(s: Source, expected: string): Promise<void> {
  await waitFor(`endpoints ${expected} (have ${ports(s)})`, () => ports(s) === expected, 10_000);
}

let pathCounter = 0;
const uniquePath = () => `/aurora/role/env/job${++pathCounter}`;

Deno.test({
  name: "zk: Aurora members joining and leaving reach the source as change events",
  fn: () =>
    withZk(async (c) => {
      const job = uniquePath();
      const [, role, env, name] = job.split("/").slice(1);
      const src = new AuroraSource({
        zkServers: c.connectString,
        announcerServersetPath: "/aurora/",
        role: role === "aurora" ? "role" : role,
        environment: env,
        job: name,
        zkMemberPrefix: "member_",
      }, { ...c, clock: systemClock });
      strictEqual(src.zkPath, job);
      let changes = 0;
      src.onChange(() => changes++);
      await src.start();
      strictEqual(ports(src), "");
      const m1 = await announce(c.announcer, job, { host: "127.0.0.1", port: 9001 });
      await until(src, "9001");
      await announce(c.announcer, job, { host: "127.0.0.1", port: 9002 });
      await until(src, "9001,9002");
      await c.announcer.remove(m1);
      await until(src, "9002");
      strictEqual(changes, 3);
      strictEqual(src.status().healthy, true);
      await src.stop();
    }),
});

Deno.test({
  name: "zk: the named endpoint is used; the endpoint keeps every named port",
  fn: () =>
    withZk(async (c) => {
      const path = uniquePath();
      const src = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: path,
        endpoint: "http",
        zkMemberPrefix: "member_",
      }, { ...c, clock: systemClock });
      await src.start();
      await announce(c.announcer, path, {
        host: "127.0.0.1",
        port: 9000,
        additional: { http: 9080, health: 9090 },
      });
      // A member without the named endpoint is skipped (and counted).
      await announce(c.announcer, path, { host: "127.0.0.1", port: 9100 });
      await until(src, "9080");
      deepStrictEqual(src.endpoints()[0].ports, { default: 9000, http: 9080, health: 9090 });
      await waitFor("the member without http to be counted", () =>
        c.metrics.get("source_member_invalid", { source: src.name }) === 1);
      strictEqual(ports(src), "9080");
      await src.stop();
    }),
});

Deno.test({
  name: "zk: only children with the member prefix count; non-ALIVE members get no traffic",
  fn: () =>
    withZk(async (c) => {
      const path = uniquePath();
      const src = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: path,
        zkMemberPrefix: "node_",
      }, {
        ...c,
        clock: systemClock,
      });
      await src.start();
      await announce(c.announcer, path, { host: "127.0.0.1", port: 9001 }); // member_: ignored
      await createNode(
        c.announcer,
        `${path}/node_`,
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 9002 }, status: "ALIVE" }),
        zk.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      await createNode(
        c.announcer,
        `${path}/node_`,
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 9003 }, status: "STARTING" }),
        zk.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      await until(src, "9002");
      strictEqual(c.metrics.get("source_member_invalid", { source: src.name }), 0);
      await src.stop();
    }),
});

Deno.test({
  name: "zk: a path created after start is picked up; a deleted path removes its members",
  fn: () =>
    withZk(async (c) => {
      const path = uniquePath();
      const src = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: path,
        zkMemberPrefix: "member_",
      }, {
        ...c,
        clock: systemClock,
      });
      await src.start();
      strictEqual(ports(src), "");
      await createNode(
        c.announcer,
        `${path}/member_0000000001`,
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 9001 } }),
      );
      await until(src, "9001");
      await c.announcer.remove(`${path}/member_0000000001`);
      await c.announcer.remove(path);
      await until(src, "");
      // And created again.
      await createNode(
        c.announcer,
        `${path}/member_0000000002`,
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 9002 } }),
      );
      await until(src, "9002");
      await src.stop();
    }),
});

Deno.test({
  name:
    "zk: malformed and hostile members are skipped and counted; good members of the same change apply",
  fn: () =>
    withZk(async (c) => {
      const path = uniquePath();
      const src = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: path,
        zkMemberPrefix: "member_",
      }, {
        ...c,
        clock: systemClock,
      });
      await src.start();
      const bad = [
        "not json",
        JSON.stringify({ status: "ALIVE" }),
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 0 } }),
        JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 70000 } }),
        JSON.stringify({ serviceEndpoint: { host: "1.2.3.4; } server { listen 81", port: 80 } }),
        JSON.stringify({
          serviceEndpoint: { host: "127.0.0.1", port: 80 },
          additionalEndpoints: { http: { host: "a b", port: 1 } },
        }),
      ];
      await c.announcer.mkdirp(path);
      for (const d of bad) {
        await c.announcer.create(`${path}/member_`, d, zk.CreateMode.EPHEMERAL_SEQUENTIAL);
      }
      await announce(c.announcer, path, { host: "127.0.0.1", port: 9005 });
      await until(src, "9005");
      strictEqual(c.metrics.get("source_member_invalid", { source: src.name }), bad.length);
      const logged = c.logger.lines.filter((l) => l.includes("skipping malformed member"));
      strictEqual(logged.length, bad.length);
      strictEqual(logged.some((l) => l.includes(`${path}/member_`)), true);
      await src.stop();
    }),
});

Deno.test({
  name: "zk: the Mesos source follows the leading master",
  fn: () =>
    withZk(async (c) => {
      const path = `/mesos${++pathCounter}`;
      const src = new MesosMasterSource({ zkServers: c.connectString, mesosMasterPath: path }, {
        ...c,
        clock: systemClock,
      });
      await src.start();
      const info = (port: number) =>
        JSON.stringify({
          hostname: "127.0.0.1",
          port,
          address: { hostname: "127.0.0.1", ip: "127.0.0.1", port },
        });
      const leader = await createNode(
        c.announcer,
        `${path}/json.info_`,
        info(5050),
        zk.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      await createNode(
        c.announcer,
        `${path}/json.info_`,
        info(5051),
        zk.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      await until(src, "5050");
      await c.announcer.remove(leader);
      await until(src, "5051");
      await src.stop();
    }),
});

Deno.test({
  name: "zk: two sources on one ensemble share one session",
  fn: () =>
    withZk(async (c) => {
      const a = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: uniquePath(),
        zkMemberPrefix: "member_",
      }, { ...c, clock: systemClock });
      const b = new ServerSetSource({
        zkServers: c.connectString,
        zkPath: uniquePath(),
        zkMemberPrefix: "member_",
      }, { ...c, clock: systemClock });
      await Promise.all([a.start(), b.start()]);
      strictEqual(c.sessions.size, 1);
      await a.stop();
      await b.stop();
    }),
});

Deno.test("zk: a burst of 500 members (a large deploy) is read in a few passes, not one per member", async () => {
  await withZk(async (c) => {
    const path = uniquePath();
    const src = new ServerSetSource({
      zkServers: c.connectString,
      zkPath: path,
      zkMemberPrefix: "member_",
    }, {
      ...c,
      clock: systemClock,
    });
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await c.announcer.mkdirp(path);
    await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) => announce(c.announcer, path, { host: "127.0.0.1", port: 10_000 + i }),
      ),
    );
    await waitFor("all 500 members", () => src.endpoints().length === 500, 20_000);
    strictEqual(changes < 50, true, `${changes} change events for 500 joins`);
    await src.stop();
  });
});

Deno.test({
  name: "zk: (cleanup) stop the shared ZooKeeper",
  fn: async () => {
    await server?.destroy();
  },
});
