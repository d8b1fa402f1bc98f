import { deepStrictEqual, strictEqual } from "node:assert";
import { UsageErrors } from "../../lib/errors.ts";
import { parseSourceConfig } from "../../lib/kinds.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { PreviousEndpointsConfig } from "../../lib/model/config.ts";
import { parseServerSetMember } from "../../lib/sources/registry/member.ts";
import { DEFAULT_PREVIOUS_ENDPOINTS } from "../../lib/sources/registry/previous_endpoints.ts";
import { RegistrySource } from "../../lib/sources/registry/source.ts";
import { EndpointStateStore } from "../../lib/sources/state_file.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { MemoryZk } from "../../testing/memory_zk.ts";

const settle = () => new Promise((r) => setTimeout(r, 0));
const member = (port: number) =>
  JSON.stringify({ serviceEndpoint: { host: "10.0.0.1", port }, status: "ALIVE" });
const name = (i: number) => `member_${String(i).padStart(10, "0")}`;
const PATH = "/aurora/r/e/web";

function setup(previousEndpoints?: PreviousEndpointsConfig, state?: EndpointStateStore) {
  const clock = new FakeClock();
  const zk = new MemoryZk({ now: () => clock.now() });
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const src = new RegistrySource({
    kind: "serverset",
    zkServers: "zk:2181",
    zkPath: PATH,
    filter: (n) => n.startsWith("member_"),
    parse: (data, origin) => parseServerSetMember(data, { origin }),
    previousEndpoints,
  }, { sessions: zk, clock, logger, metrics, state, startTimeoutMs: 1000 });
  let changes = 0;
  src.onChange(() => changes++);
  return {
    clock,
    zk,
    logger,
    src,
    ports: () => src.endpoints().map((e) => e.port).sort((a, b) => a - b).join(","),
    changes: () => changes,
    keeping: () => metrics.get("source_keeping_previous_endpoints", { source: src.name }),
  };
}

Deno.test("previous endpoints: every member gone at once keeps them (degraded, logged, counted) for 60 s by default, then the source serves none", async () => {
  strictEqual(DEFAULT_PREVIOUS_ENDPOINTS.use, true);
  strictEqual(DEFAULT_PREVIOUS_ENDPOINTS.graceSeconds, 60);
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await t.src.start();
  const before = t.changes();
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.remove(`${PATH}/${name(2)}`);
  await settle();
  strictEqual(t.ports(), "9001,9002");
  strictEqual(t.changes(), before, "nothing changed for traffic");
  strictEqual(t.keeping(), 2);
  deepStrictEqual(t.src.status(), {
    healthy: false,
    detail: `connected, but ${PATH} has no member: keeping 2 previous endpoint(s) for 60s more`,
  });
  strictEqual(
    t.logger.lines.some((l) =>
      l.includes(`${PATH} has no member any more: keeping its 2 previous endpoint(s) for up to 60s`)
    ),
    true,
  );
  await t.clock.advance(59_000);
  strictEqual(t.ports(), "9001,9002");
  strictEqual(t.src.status().detail.endsWith("for 1s more"), true, t.src.status().detail);
  await t.clock.advance(1000);
  strictEqual(t.ports(), "");
  strictEqual(t.changes(), before + 1);
  strictEqual(t.keeping(), 0);
  deepStrictEqual(t.src.status(), { healthy: true, detail: "connected, 0 endpoint(s)" });
  strictEqual(
    t.logger.lines.some((l) => l.includes("after 60s: dropping its 2 previous endpoint(s)")),
    true,
  );
  await t.src.stop();
  strictEqual(t.clock.pending, 0);
});

Deno.test("previous endpoints: the path deleted keeps them; members that return replace them and the grace timer is cancelled", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  await t.src.start();
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.remove(PATH);
  await settle();
  strictEqual(t.ports(), "9001");
  strictEqual(t.logger.lines.some((l) => l.includes(`${PATH} is gone: keeping its 1`)), true);
  await t.clock.advance(1500);
  t.zk.create(`${PATH}/${name(1)}`, member(9002));
  await settle();
  strictEqual(t.ports(), "9002");
  strictEqual(t.keeping(), 0);
  strictEqual(t.clock.pending, 0, "the grace timer is gone");
  strictEqual(t.src.status().healthy, true);
  // Emptied again later: a new grace period, from then.
  t.zk.remove(`${PATH}/${name(1)}`);
  await settle();
  await t.clock.advance(30_000);
  strictEqual(t.ports(), "9002");
  await t.clock.advance(30_000);
  strictEqual(t.ports(), "");
  await t.src.stop();
});

Deno.test("previous endpoints: only a step to none keeps anything; members leaving one by one are followed until the last", async () => {
  const t = setup({ use: true, graceSeconds: 5 });
  for (const i of [1, 2, 3]) t.zk.create(`${PATH}/${name(i)}`, member(9000 + i));
  await t.src.start();
  t.zk.remove(`${PATH}/${name(1)}`);
  t.zk.remove(`${PATH}/${name(2)}`);
  await settle();
  strictEqual(t.ports(), "9003", "two of three gone at once: followed");
  t.zk.remove(`${PATH}/${name(3)}`);
  await settle();
  strictEqual(t.ports(), "9003", "the last one: kept");
  await t.clock.advance(5000);
  strictEqual(t.ports(), "");
  await t.src.stop();
});

Deno.test("previous endpoints: use_previous_endpoints false, or a grace of 0 s, empties at once", async () => {
  for (const policy of [{ use: false, graceSeconds: 60 }, { use: true, graceSeconds: 0 }]) {
    const t = setup(policy);
    t.zk.create(`${PATH}/${name(1)}`, member(9001));
    await t.src.start();
    t.zk.remove(`${PATH}/${name(1)}`);
    await settle();
    strictEqual(t.ports(), "", JSON.stringify(policy));
    strictEqual(t.keeping(), 0);
    strictEqual(t.clock.pending, 0);
    await t.src.stop();
  }
});

Deno.test("previous endpoints: the state file records what the source serves: the kept endpoints, then none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const clock = new FakeClock();
    const state = await EndpointStateStore.load(`${dir}/state.json`, {
      maxAgeSeconds: 3600,
      clock,
      logger: memoryLogger(),
    });
    const t = setup({ use: true, graceSeconds: 10 }, state);
    t.zk.create(`${PATH}/${name(1)}`, member(9001));
    await t.src.start();
    t.zk.remove(`${PATH}/${name(1)}`);
    await settle();
    strictEqual(state.get(t.src.name)?.endpoints.map((e) => e.port).join(), "9001");
    await t.clock.advance(10_000);
    strictEqual(state.get(t.src.name)?.endpoints.length, 0);
    await t.src.stop();
    await state.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("previous endpoints: the config keys of every registry kind, their defaults and errors", () => {
  const aurora = {
    source_class: "tellapart.aurproxy.source.AuroraProxySource",
    zk_servers: "zk:2181",
    role: "r",
    environment: "e",
    job: "j",
  };
  const serverset = { source_class: "serverset", zk_servers: "zk:2181", path: "/sd/web" };
  const mesos = { source_class: "mesos_master", zk_servers: "zk:2181", mesos_master_path: "/m" };
  const prev = (raw: Record<string, unknown>) =>
    (parseSourceConfig(raw) as { previousEndpoints?: PreviousEndpointsConfig }).previousEndpoints;
  for (const raw of [aurora, serverset, mesos]) {
    strictEqual(prev(raw), undefined, "unset: the defaults apply");
    deepStrictEqual(prev({ ...raw, use_previous_endpoints: false }), {
      use: false,
      graceSeconds: 60,
    });
    deepStrictEqual(prev({ ...raw, use_previous_endpoints: "False" }), {
      use: false,
      graceSeconds: 60,
    });
    deepStrictEqual(prev({ ...raw, previous_endpoints_grace_seconds: 5.5 }), {
      use: true,
      graceSeconds: 5.5,
    });
  }
  const errors = (raw: Record<string, unknown>) => {
    try {
      parseSourceConfig(raw);
    } catch (e) {
      if (e instanceof UsageErrors) return e.errors.map((x) => x.message);
      throw e;
    }
    return [];
  };
  deepStrictEqual(errors({ ...aurora, use_previous_endpoints: "maybe" }), [
    'source.use_previous_endpoints: expected true or false, got "maybe"',
  ]);
  deepStrictEqual(errors({ ...aurora, previous_endpoints_grace_seconds: -1 }), [
    "source.previous_endpoints_grace_seconds: expected a number >= 0, got -1",
  ]);
  strictEqual(
    errors({
      source_class: "static",
      name: "a",
      host: "10.0.0.1",
      port: 80,
      use_previous_endpoints: false,
    }).length,
    1,
    "a static source has nothing to keep: the key is unknown there",
  );
});

Deno.test("previous endpoints: members that are listed but give no endpoint (all DRAINING, unusable data) are knowledge: the source serves none at once", async () => {
  const t = setup();
  t.zk.create(`${PATH}/${name(1)}`, member(9001));
  t.zk.create(`${PATH}/${name(2)}`, member(9002));
  await t.src.start();
  const draining = (port: number) =>
    JSON.stringify({ serviceEndpoint: { host: "10.0.0.1", port }, status: "DRAINING" });
  t.zk.setData(`${PATH}/${name(1)}`, draining(9001));
  t.zk.setData(`${PATH}/${name(2)}`, draining(9002));
  await settle();
  strictEqual(t.ports(), "");
  strictEqual(t.keeping(), 0);
  strictEqual(t.clock.pending, 0);
  await t.src.stop();
});
