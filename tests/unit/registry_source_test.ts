import { deepStrictEqual, strictEqual } from "node:assert";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { AuroraSource } from "../../lib/sources/registry/aurora.ts";
import { parseServerSetMember } from "../../lib/sources/registry/member.ts";
import { MesosMasterSource } from "../../lib/sources/registry/mesos.ts";
import { RegistrySource } from "../../lib/sources/registry/source.ts";
import { EndpointStateStore } from "../../lib/sources/state_file.ts";
import type { PreviousEndpointsConfig } from "../../lib/model/config.ts";
import { ZkOpError } from "../../lib/zk/op_error.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { MemoryZk } from "../../testing/memory_zk.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));
const member = (port: number, status = "ALIVE") =>
  JSON.stringify({ serviceEndpoint: { host: "10.0.0.1", port }, status });
const name = (i: number) => `member_${String(i).padStart(10, "0")}`;
const PATH = "/aurora/r/e/web";

/** A serverset-style source on an in-memory tree, its parses counted. */
function setup(
  o: {
    state?: EndpointStateStore;
    clock?: FakeClock;
    previousEndpoints?: PreviousEndpointsConfig;
  } = {},
) {
  const clock = o.clock ?? new FakeClock();
  const zk = new MemoryZk({ now: () => clock.now() });
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const deps = { sessions: zk, clock, logger, metrics, state: o.state, startTimeoutMs: 1000 };
  let parses = 0;
  const src = new RegistrySource({
    kind: "serverset",
    zkServers: "zk:2181",
    zkPath: PATH,
    filter: (n) => n.startsWith("member_"),
    parse: (data, origin) => (parses++, parseServerSetMember(data, { origin })),
    previousEndpoints: o.previousEndpoints,
  }, deps);
  let changes = 0;
  src.onChange(() => changes++);
  const ports = () => src.endpoints().map((e) => e.port).sort((a, b) => a - b).join(",");
  return {
    clock,
    zk,
    reader: zk.get("zk:2181"),
    logger,
    metrics,
    deps,
    src,
    ports,
    changes: () => changes,
    parses: () => parses,
    invalid: () => metrics.get("source_member_invalid_total", { source: src.name }),
  };
}

Deno.test("registry source: members joining, leaving and changing reach the endpoints, one change event each", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  await t.src.start();
  strictEqual(t.ports(), "9001");
  strictEqual(t.src.endpoints()[0].origin, `${PATH}/${name(1)}`);
  strictEqual(t.changes(), 1);
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await settle();
  strictEqual(t.ports(), "9001,9002");
  t.zk.setData(`${PATH}/${name(1)}`, member(9001, "DRAINING"));
  await settle();
  strictEqual(t.ports(), "9002");
  strictEqual(
    t.logger.lines.some((l) => l.includes('gets no traffic: status "DRAINING" is not ALIVE')),
    true,
  );
  t.zk.remove(`${PATH}/${name(2)}`);
  await settle();
  // Member 1 is still listed (DRAINING): nothing to keep, the registry says "none".
  strictEqual(t.ports(), "");
  strictEqual(t.changes(), 4);
  deepStrictEqual(t.src.status(), { healthy: true, detail: "connected, 0 endpoint(s)" });
  await t.src.stop();
});

Deno.test("registry source: a member's data is parsed once per version, not on every children event", async () => {
  const t = setup();
  for (let i = 0; i < 2000; i++) t.zk.create(`${PATH}/${name(i)}`, member(10_000 + i));
  await t.src.start();
  strictEqual(t.src.endpoints().length, 2000);
  strictEqual(t.parses(), 2000);
  for (let k = 0; k < 10; k++) {
    t.zk.remove(`${PATH}/${name(k)}`);
    t.zk.create(`${PATH}/${name(2000 + k)}`, member(20_000 + k));
    await settle();
  }
  strictEqual(t.src.endpoints().length, 2000);
  strictEqual(t.parses(), 2010, "the new members only");
  t.zk.setData(`${PATH}/${name(500)}`, member(10_500, "DEAD"));
  await settle();
  strictEqual(t.src.endpoints().length, 1999);
  strictEqual(t.parses(), 2011, "the changed member only");
  await t.src.stop();
});

Deno.test("registry source: malformed members are skipped, logged and counted once; good members of the same change apply", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  t.zk.create(`${PATH}/${name(2)}`, "not json");
  t.zk.create(`${PATH}/${name(3)}`, member(70_000));
  await t.src.start();
  strictEqual(t.ports(), "9001");
  strictEqual(t.invalid(), 2);
  const logged = () => t.logger.lines.filter((l) => l.includes("skipping malformed member"));
  strictEqual(logged().length, 2);
  strictEqual(logged()[0].includes(`${PATH}/${name(2)}: data is not a JSON object`), true);
  // Re-reads (a join) count nothing again; a good member turning hostile does.
  t.zk.create(`${PATH}/${name(4)}`, member(9004));
  await settle();
  strictEqual(t.ports(), "9001,9004");
  strictEqual(t.invalid(), 2);
  t.zk.setData(`${PATH}/${name(4)}`, member(9004).replace("10.0.0.1", "10.0.0.1; }"));
  await settle();
  strictEqual(t.ports(), "9001");
  strictEqual(t.invalid(), 3);
  // Rewritten with the same bad data: not reported again.
  t.zk.setData(`${PATH}/${name(2)}`, "not json");
  await settle();
  strictEqual(t.invalid(), 3);
  strictEqual(logged().length, 3);
  await t.src.stop();
});

Deno.test("registry source: an instance announced again under a new member is not a change", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await t.src.start();
  const before = t.changes();
  t.zk.create(`${PATH}/${name(3)}`, member(9001));
  await settle();
  t.zk.remove(`${PATH}/${name(1)}`);
  await settle();
  strictEqual(t.ports(), "9001,9002");
  strictEqual(t.changes(), before);
  await t.src.stop();
});

Deno.test("registry source: with use_previous_endpoints off, the path deleted and created again empties, then refills, the endpoints", async () => {
  const t = setup({ previousEndpoints: { use: false, graceSeconds: 60 } });
  await t.src.start();
  strictEqual(t.ports(), "");
  strictEqual(t.src.status().healthy, true, "a path that does not exist yet is a known state");
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  await settle();
  strictEqual(t.ports(), "9001");
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.remove(PATH);
  await settle();
  strictEqual(t.ports(), "");
  strictEqual(t.logger.lines.some((l) => l.includes("does not exist (yet)")), true);
  // The same member name again, different data: read, not taken from a cache.
  t.zk.create(`${PATH}/${name(1)}`, member(9011));
  await settle();
  strictEqual(t.ports(), "9011");
  // Deleted and created again between two reads, same name: the new data counts.
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.create(`${PATH}/${name(1)}`, member(9021));
  await settle();
  strictEqual(t.ports(), "9021");
  await t.src.stop();
});

Deno.test("registry source: through a disconnection and a session expiry the last endpoints serve; changes made meanwhile are seen, unchanged members are not parsed again", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await t.src.start();
  const changes = t.changes();
  t.reader.disconnect();
  await t.clock.advance(5000);
  strictEqual(t.ports(), "9001,9002");
  deepStrictEqual(t.src.status(), {
    healthy: false,
    detail: `disconnected since ${
      new Date(t.clock.now() - 5000).toISOString()
    } (5s): serving 2 last known endpoint(s)`,
  });
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.create(`${PATH}/${name(3)}`, member(9003));
  const parses = t.parses();
  t.reader.expire();
  await settle();
  strictEqual(t.ports(), "9002,9003");
  strictEqual(t.changes(), changes + 1, "one change for what happened meanwhile");
  strictEqual(t.parses(), parses + 1, "the new member only");
  strictEqual(t.src.status().healthy, true);
  // An expiry that changed nothing is no change.
  t.reader.expire();
  await settle();
  strictEqual(t.changes(), changes + 1);
  await t.src.stop();
});

Deno.test("registry source: a failing read keeps the endpoints and says so in the status", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  await t.src.start();
  t.reader.failNext("getChildren", new ZkOpError("getChildren: no answer", "timeout"));
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await settle();
  strictEqual(t.ports(), "9001");
  deepStrictEqual(t.src.status(), {
    healthy: false,
    detail: `connected, but reading ${PATH} failed (getChildren: no answer): ` +
      "serving 1 last known endpoint(s)",
  });
  await t.clock.advance(1000); // the retry
  await settle();
  strictEqual(t.ports(), "9001,9002");
  strictEqual(t.src.status().healthy, true);
  await t.src.stop();
  strictEqual(t.clock.pending, 0, "no timer left once stopped");
});

Deno.test("registry source: unreachable at start, it serves the state file's entry after the start timeout, then the live members", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = new FakeClock();
    const logger = memoryLogger();
    const state = await EndpointStateStore.load(`${dir}/state.json`, {
      maxAgeSeconds: 3600,
      clock,
      logger,
    });
    const t = setup({ state, clock });
    state.put(t.src.name, [{ host: "10.0.0.1", port: 9001, ports: { default: 9001 } }]);
    t.reader.disconnect();
    const started = t.src.start();
    await t.clock.advance(1000);
    await started;
    strictEqual(t.ports(), "9001");
    strictEqual(t.src.status().detail.includes("from the state file (1s old)"), true);
    strictEqual(t.changes(), 0);
    // The dashboard's view: the session, no event yet, served from the state file.
    const before = t.src.registryState();
    deepStrictEqual(
      [before.connectString, before.zkPath, before.session, before.lastEventAt, before.servedFrom],
      ["zk:2181", PATH, "disconnected", undefined, "the state file"],
    );
    strictEqual(before.savedAt, t.clock.now() - 1000);
    // ZooKeeper answers with the same member: no change, but the live list is taken.
    t.zk.create(`${PATH}/${name(1)}`, member(9001));
    t.reader.reconnect();
    await settle();
    strictEqual(t.changes(), 0);
    strictEqual(t.src.endpoints()[0].origin, `${PATH}/${name(1)}`);
    strictEqual(t.src.status().healthy, true);
    const after = t.src.registryState();
    deepStrictEqual(
      [after.session, after.lastEventAt, after.servedFrom, after.savedAt],
      ["connected", t.clock.now(), undefined, undefined],
    );
    await t.src.stop();
    await state.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registry source: stopped, it reports no more changes; started again, it follows the path again", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  await t.src.start();
  await t.src.stop();
  await t.src.stop(); // idempotent
  const changes = t.changes();
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await settle();
  strictEqual(t.changes(), changes);
  strictEqual(t.ports(), "9001");
  await t.src.start();
  strictEqual(t.ports(), "9001,9002");
  await t.src.stop();
});

Deno.test("registry source: the Aurora source reads the job's path; the Mesos source follows the leader only", async () => {
  const clock = new FakeClock();
  const zk = new MemoryZk({ now: () => clock.now() });
  const deps = { sessions: zk, clock, logger: memoryLogger(), metrics: new MetricsRegistry("a") };
  const aurora = new AuroraSource({
    zkServers: "zk:2181",
    announcerServersetPath: "/aurora/",
    role: "r",
    environment: "e",
    job: "web",
    zkMemberPrefix: "member_",
    endpoint: "http",
  }, deps);
  zk.create(
    `${PATH}/${name(1)}`,
    JSON.stringify({
      serviceEndpoint: { host: "10.0.0.1", port: 9000 },
      additionalEndpoints: { http: { host: "10.0.0.1", port: 9080 } },
      status: "ALIVE",
    }),
  );
  await aurora.start();
  deepStrictEqual(aurora.endpoints().map((e) => [e.port, e.ports]), [
    [9080, { default: 9000, http: 9080 }],
  ]);
  strictEqual(aurora.name, `aurora:zk:2181${PATH}#http`);
  await aurora.stop();

  const mesos = new MesosMasterSource({ zkServers: "zk:2181", mesosMasterPath: "/mesos" }, deps);
  const info = (port: number) => JSON.stringify({ address: { ip: "10.0.0.9", port } });
  zk.create("/mesos/json.info_0000000002", info(5052));
  zk.create("/mesos/json.info_0000000001", info(5051));
  zk.create("/mesos/log_replicas", "");
  await mesos.start();
  deepStrictEqual(mesos.endpoints().map((e) => e.port), [5051]);
  zk.remove("/mesos/json.info_0000000001");
  await settle();
  deepStrictEqual(mesos.endpoints().map((e) => e.port), [5052]);
  await mesos.stop();
});

Deno.test("registry source: unreachable at start with no state file entry, it serves what the live proxy config has for it; the registry's members replace them once read", async () => {
  const t = setup();
  t.src.keepUntilRead([{ host: "10.0.0.1", port: 9001, ports: {} }], "the live nginx config");
  t.reader.disconnect();
  const started = t.src.start();
  await t.clock.advance(1000);
  await started;
  strictEqual(t.ports(), "9001");
  deepStrictEqual(t.src.status(), {
    healthy: false,
    detail: "ZooKeeper not reached yet: serving 1 endpoint(s) from the live nginx config",
  });
  strictEqual(
    t.logger.lines.some((l) =>
      l.includes("no state file entry; serving the 1 endpoint(s) the live nginx config has")
    ),
    true,
  );
  t.zk.create(`${PATH}/${name(1)}`, member(9002));
  t.reader.reconnect();
  await settle();
  strictEqual(t.ports(), "9002");
  strictEqual(t.src.status().healthy, true);
  await t.src.stop();
});

Deno.test("registry source: a state file entry wins over the live config (its own, fuller knowledge); the live config's endpoints are kept like any others when the first read finds no member", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = new FakeClock();
    const state = await EndpointStateStore.load(`${dir}/state.json`, {
      maxAgeSeconds: 3600,
      clock,
      logger: memoryLogger(),
    });
    const t = setup({ state, clock });
    state.put(t.src.name, [{ host: "10.0.0.1", port: 9001, ports: { http: 9001 } }]);
    t.src.keepUntilRead([{ host: "10.0.0.1", port: 9005, ports: {} }], "the live nginx config");
    t.reader.disconnect();
    const started = t.src.start();
    await t.clock.advance(1000);
    await started;
    strictEqual(t.ports(), "9001");
    await t.src.stop();
    await state.stop();

    const u = setup();
    u.src.keepUntilRead([{ host: "10.0.0.1", port: 9005, ports: {} }], "the live nginx config");
    u.reader.disconnect();
    const startedU = u.src.start();
    await u.clock.advance(1000);
    await startedU;
    // ZooKeeper answers, but the job's path is not there (yet): missing, not "no instance".
    u.reader.reconnect();
    await settle();
    strictEqual(u.ports(), "9005");
    strictEqual(u.src.status().detail.includes("keeping 1 previous endpoint(s)"), true);
    await u.clock.advance(60_000);
    strictEqual(u.ports(), "");
    await u.src.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
