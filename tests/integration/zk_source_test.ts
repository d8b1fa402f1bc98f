import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert";
import { parseConfig } from "../../lib/kinds.ts";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { AuroraSource } from "../../lib/sources/registry/aurora.ts";
import { MesosMasterSource } from "../../lib/sources/registry/mesos.ts";
import { ServerSetSource } from "../../lib/sources/registry/serverset.ts";
import type { Source } from "../../lib/sources/source.ts";
import { ChildrenWatch } from "../../lib/zk/children_watch.ts";
import { BAD_ARGUMENTS } from "../../lib/zk/client.ts";
import { ZkOpError } from "../../lib/zk/op_error.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { waitFor } from "../../testing/ports.ts";
import { startZooKeeper, type TestAnnouncer, type TestZooKeeper } from "../../testing/zookeeper.ts";

// One ZooKeeper for the whole file; each test uses its own paths.
let server: TestZooKeeper | undefined;
async function zkServer(): Promise<TestZooKeeper> {
  return server ??= await startZooKeeper();
}

interface Ctx {
  sessions: ZkSessions;
  metrics: MetricsRegistry;
  logger: ReturnType<typeof memoryLogger>;
  clock: typeof systemClock;
  /** A separate session playing Aurora's executor. */
  announcer: TestAnnouncer;
  connectString: string;
}

async function withZk(fn: (c: Ctx) => Promise<void>): Promise<void> {
  const z = await zkServer();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: systemClock, logger, metrics });
  const announcer = await z.announcer();
  try {
    await fn({
      sessions,
      metrics,
      logger,
      clock: systemClock,
      announcer,
      connectString: z.connectString,
    });
  } finally {
    await sessions.closeAll();
    await announcer.close();
  }
}

const ports = (s: Source) => s.endpoints().map((e) => e.port).sort((a, b) => a - b).join(",");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(s: Source, expected: string): Promise<void> {
  await waitFor(`endpoints ${expected} (have ${ports(s)})`, () => ports(s) === expected, 10_000);
}

const member = (port: number, status = "ALIVE") =>
  JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port }, status });

let pathCounter = 0;
const uniquePath = () => `/sd/job${++pathCounter}`;

function serverset(c: Ctx, zkPath: string, more: { endpoint?: string; prefix?: string } = {}) {
  return new ServerSetSource({
    zkServers: c.connectString,
    zkPath,
    endpoint: more.endpoint,
    zkMemberPrefix: more.prefix ?? "member_",
  }, c);
}

Deno.test("zk: Aurora members joining and leaving reach the source, one change event each", () =>
  withZk(async (c) => {
    const job = `job${++pathCounter}`;
    const src = new AuroraSource({
      zkServers: c.connectString,
      announcerServersetPath: "/aurora/",
      role: "www-data",
      environment: "devel",
      job,
      zkMemberPrefix: "member_",
    }, c);
    strictEqual(src.zkPath, `/aurora/www-data/devel/${job}`);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    strictEqual(ports(src), "");
    const m1 = await c.announcer.announce(src.zkPath, { host: "127.0.0.1", port: 9001 });
    await until(src, "9001");
    await c.announcer.announce(src.zkPath, { host: "127.0.0.1", port: 9002 });
    await until(src, "9001,9002");
    await c.announcer.remove(m1);
    await until(src, "9002");
    await sleep(200); // a late duplicate event would show here
    strictEqual(changes, 3);
    deepStrictEqual(src.status(), { healthy: true, detail: "connected, 1 endpoint(s)" });
    await src.stop();
  }));

Deno.test("zk: the named endpoint is used; the endpoint keeps every named port", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = serverset(c, path, { endpoint: "http" });
    await src.start();
    await c.announcer.announce(path, {
      host: "127.0.0.1",
      port: 9000,
      additional: { http: 9080, health: 9090 },
    });
    // A member without the named endpoint is skipped (and counted).
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9100 });
    await until(src, "9080");
    deepStrictEqual(src.endpoints()[0].ports, { default: 9000, http: 9080, health: 9090 });
    await waitFor(
      "the member without http to be counted",
      () => c.metrics.get("source_member_invalid_total", { source: src.name }) === 1,
    );
    strictEqual(ports(src), "9080");
    await src.stop();
  }));

Deno.test("zk: only children with the member prefix count; non-ALIVE members get no traffic", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = serverset(c, path, { prefix: "node_" });
    await src.start();
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9001 }); // member_: ignored
    await c.announcer.createSequential(`${path}/node_`, member(9002));
    await c.announcer.createSequential(`${path}/node_`, member(9003, "STARTING"));
    await until(src, "9002");
    strictEqual(c.metrics.get("source_member_invalid_total", { source: src.name }), 0);
    await src.stop();
  }));

Deno.test("zk: a member whose status changes in place loses, then regains, its traffic", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = serverset(c, path);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    const m = await c.announcer.createSequential(`${path}/member_`, member(9001));
    await c.announcer.createSequential(`${path}/member_`, member(9002));
    await until(src, "9001,9002");
    const before = changes;
    await c.announcer.setData(m, member(9001, "DEAD"));
    await until(src, "9002");
    await c.announcer.setData(m, member(9001));
    await until(src, "9001,9002");
    strictEqual(changes, before + 2);
    await src.stop();
  }));

Deno.test("zk: a path created after start is picked up; with use_previous_endpoints off, a deleted path removes its members", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = new ServerSetSource({
      zkServers: c.connectString,
      zkPath: path,
      zkMemberPrefix: "member_",
      previousEndpoints: { use: false, graceSeconds: 60 },
    }, c);
    await src.start();
    strictEqual(ports(src), "");
    strictEqual(src.status().healthy, true, "a path that does not exist yet is a known state");
    await c.announcer.createNode(`${path}/member_0000000001`, member(9001));
    await until(src, "9001");
    await c.announcer.remove(`${path}/member_0000000001`);
    await c.announcer.remove(path);
    await until(src, "");
    // And created again.
    await c.announcer.createNode(`${path}/member_0000000002`, member(9002));
    await until(src, "9002");
    await src.stop();
  }));

Deno.test("zk: malformed and hostile members are skipped and counted; good members of the same change apply", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const bad = [
      "not json",
      JSON.stringify({ status: "ALIVE" }),
      // No status: Aurora's announcer always writes one.
      JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 80 }, additionalEndpoints: {} }),
      JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 0 } }),
      JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port: 70000 } }),
      JSON.stringify({ serviceEndpoint: { host: "1.2.3.4; } server { listen 81", port: 80 } }),
      JSON.stringify({
        serviceEndpoint: { host: "127.0.0.1", port: 80 },
        additionalEndpoints: { http: { host: "a b", port: 1 } },
      }),
    ];
    // Written before the source starts, so its first read is one change with all of them.
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9004 });
    for (const d of bad) await c.announcer.createSequential(`${path}/member_`, d);
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9005 });
    const src = serverset(c, path);
    await src.start();
    strictEqual(ports(src), "9004,9005");
    strictEqual(c.metrics.get("source_member_invalid_total", { source: src.name }), bad.length);
    const logged = c.logger.lines.filter((l) => l.includes("skipping malformed member"));
    strictEqual(logged.length, bad.length, "each bad member is logged once");
    strictEqual(
      logged.every((l) => l.includes(`${path}/member_`) && /member_\d{10}: /.test(l)),
      true,
      "the log names the member's znode",
    );
    // Later changes re-read the list; the bad members are not counted again.
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9006 });
    await until(src, "9004,9005,9006");
    strictEqual(c.metrics.get("source_member_invalid_total", { source: src.name }), bad.length);
    // A good member turning hostile in place is dropped and counted too.
    const [good] = src.endpoints().filter((e) => e.port === 9006).map((e) => e.origin!);
    await c.announcer.setData(good, member(9006).replace("127.0.0.1", "127.0.0.1 backup"));
    await until(src, "9004,9005");
    strictEqual(c.metrics.get("source_member_invalid_total", { source: src.name }), bad.length + 1);
    await src.stop();
  }));

Deno.test("zk: an instance announced again under a new member is not a change", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = serverset(c, path);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    const a = await c.announcer.announce(path, { host: "127.0.0.1", port: 9001 });
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9002 });
    await until(src, "9001,9002");
    const before = changes;
    // The executor re-announces 9001 (new sequence number, now after 9002), then the old
    // member goes: same instances, different znode order.
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9001 });
    await c.announcer.remove(a);
    await sleep(300); // time for any (wrong) change event to arrive
    // A real change afterwards, so the reads above have certainly been done.
    await c.announcer.announce(path, { host: "127.0.0.1", port: 9003 });
    await until(src, "9001,9002,9003");
    strictEqual(changes, before + 1);
    await src.stop();
  }));

Deno.test("zk: the Mesos source follows the leading master only", () =>
  withZk(async (c) => {
    const path = `/mesos${++pathCounter}`;
    const src = new MesosMasterSource({ zkServers: c.connectString, mesosMasterPath: path }, c);
    await src.start();
    const info = (port: number) =>
      JSON.stringify({
        hostname: "ignored.example",
        port: 1,
        address: { hostname: "127.0.0.1", ip: "127.0.0.1", port },
      });
    // Mesos also keeps non-JSON info_ and log_replicas nodes there.
    await c.announcer.createSequential(`${path}/info_`, "\u0008binary protobuf");
    await c.announcer.createNode(`${path}/log_replicas/x`, "");
    const leader = await c.announcer.createSequential(`${path}/json.info_`, info(5050));
    const second = await c.announcer.createSequential(`${path}/json.info_`, info(5051));
    await c.announcer.createSequential(`${path}/json.info_`, info(5052));
    await until(src, "5050");
    await c.announcer.remove(leader);
    await until(src, "5051");
    // A leader whose data cannot be used gives no endpoint; a follower is not a stand-in.
    await c.announcer.setData(second, '{"hostname":"m; }","port":5051}');
    await until(src, "");
    strictEqual(c.metrics.get("source_member_invalid_total", { source: src.name }), 1);
    await c.announcer.remove(second);
    await until(src, "5052");
    await src.stop();
  }));

Deno.test("zk: sources on one ensemble share one session, however the hosts are written", () =>
  withZk(async (c) => {
    const a = serverset(c, uniquePath());
    const b = new ServerSetSource({
      zkServers: ` ${c.connectString} `,
      zkPath: uniquePath(),
      zkMemberPrefix: "member_",
    }, c);
    await Promise.all([a.start(), b.start()]);
    strictEqual(c.sessions.size, 1);
    await a.stop();
    await b.stop();
  }));

Deno.test("zk: a burst of 500 members (a large deploy) is read in a few passes, not one per member", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const src = serverset(c, path);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await c.announcer.session.mkdirp(path);
    await Promise.all(
      Array.from(
        { length: 500 },
        (_, i) => c.announcer.announce(path, { host: "127.0.0.1", port: 10_000 + i }),
      ),
    );
    await waitFor("all 500 members", () => src.endpoints().length === 500, 20_000);
    strictEqual(changes < 50, true, `${changes} change events for 500 joins`);
    await src.stop();
  }));

Deno.test("zk: a path created between the failed listing and the exists check is read, never reported empty", () =>
  withZk(async (c) => {
    const path = uniquePath();
    const session = c.sessions.get(c.connectString);
    strictEqual(await session.waitConnected(10_000), true);
    // The race, made certain: the job's first instance is announced just after the
    // listing found no path, before the watch asks whether it exists.
    const getChildren = session.getChildren.bind(session);
    let raced = false;
    session.getChildren = async (p, w) => {
      try {
        return await getChildren(p, w);
      } catch (err) {
        if (p === path && !raced) {
          raced = true;
          await c.announcer.announce(path, { host: "127.0.0.1", port: 9001 });
        }
        throw err;
      }
    };
    const updates: string[] = [];
    const watch = new ChildrenWatch(session, path, {
      filter: (n) => n.startsWith("member_"),
      onUpdate: (st) => updates.push(`exists=${st.exists} members=${st.children.size}`),
      clock: c.clock,
      logger: c.logger,
    });
    watch.start();
    try {
      await waitFor("the member to be read", () => updates.length > 0 && raced);
      await sleep(200); // a late second update would show here
      deepStrictEqual(updates, ["exists=true members=1"]);
    } finally {
      watch.stop();
    }
  }));

Deno.test('zk: a source path with "." or ".." segments is a config error naming the field (ZooKeeper refuses such paths)', () =>
  withZk(async (c) => {
    // What the check prevents: the client library refuses the path before sending it.
    await rejects(
      c.announcer.session.getChildren("/aurora/../etc"),
      (err) => err instanceof ZkOpError && err.code === BAD_ARGUMENTS,
    );
    for (const path of ["/aurora/../etc", "/sd/./web"]) {
      throws(
        () =>
          parseConfig({
            backend: "nginx",
            servers: [{
              ports: [8080],
              routes: [{
                locations: ["/"],
                sources: [{
                  source_class: "tellapart.aurproxy.source.ServerSetSource",
                  zk_servers: c.connectString,
                  path,
                }],
              }],
            }],
          }),
        (err: Error) =>
          err.message.includes(
            `servers[0].routes[0].sources[0].path: expected a ZooKeeper path without "." or ".." segments, got ${
              JSON.stringify(path)
            }`,
          ),
      );
    }
  }));

Deno.test("zk: (cleanup) stop the shared ZooKeeper", async () => {
  await server?.destroy();
});
