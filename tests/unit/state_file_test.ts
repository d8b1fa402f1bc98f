import { deepStrictEqual, strictEqual } from "node:assert";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { EndpointStateStore } from "../../lib/sources/state_file.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

async function tmp() {
  const dir = await Deno.makeTempDir();
  return {
    dir,
    path: `${dir}/sub/state.json`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("state file: written atomically after a change, read back by the next run", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const a = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger });
  a.put("aurora:r/e/j", [{ host: "10.0.0.1", port: 80, ports: { default: 80, http: 81 } }]);
  await clock.advance(1000);
  await a.stop();
  strictEqual(clock.pending, 0);
  const b = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger });
  deepStrictEqual(b.get("aurora:r/e/j")?.endpoints.map((e) => [e.host, e.port, e.ports]), [[
    "10.0.0.1",
    80,
    { default: 80, http: 81 },
  ]]);
  strictEqual([...Deno.readDirSync(`${t.dir}/sub`)].length, 1, "no temp file left");
});

Deno.test("state file: older than the max age is ignored, and the log says why", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const a = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger });
  a.put("s", [{ host: "10.0.0.1", port: 80, ports: {} }]);
  await a.stop();
  await clock.advance(61_000);
  const b = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger });
  strictEqual(b.get("s"), undefined);
  strictEqual(logger.lines.some((l) => l.includes("61s old (max 60s)")), true);
});

Deno.test("state file: corrupt or tampered files cannot inject endpoints", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  await Deno.mkdir(`${t.dir}/sub`);
  await Deno.writeTextFile(t.path, "{not json");
  strictEqual(
    (await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger })).get("s"),
    undefined,
  );
  await Deno.writeTextFile(
    t.path,
    JSON.stringify({
      version: 1,
      writtenAt: clock.now(),
      sources: {
        s: [{ host: "1.2.3.4; } server {", port: 80 }, { host: "10.0.0.2", port: 81, ports: {} }],
      },
    }),
  );
  const s = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger });
  deepStrictEqual(s.get("s")?.endpoints.map((e) => e.host), ["10.0.0.2"]);
});

Deno.test("state file: a connected source that never changes stays young; a disconnected one ages out", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const opts = { maxAgeSeconds: 60, clock, logger };
  const a = await EndpointStateStore.load(t.path, opts);
  const steady = [{ host: "10.0.0.1", port: 80, ports: {} }];
  const cut = [{ host: "10.0.0.2", port: 80, ports: {} }];
  let connected = true;
  a.put("steady", steady);
  a.put("cut", cut);
  const untrackSteady = a.track("steady", () => steady);
  const untrackCut = a.track("cut", () => connected ? cut : undefined);
  await clock.advance(20_000);
  connected = false; // "cut" loses ZooKeeper: its entry must age from here
  await clock.advance(100_000); // far past the max age since the first write
  await a.flush();
  const b = await EndpointStateStore.load(t.path, opts);
  deepStrictEqual(b.get("steady")?.endpoints.map((e) => e.host), ["10.0.0.1"]);
  strictEqual(clock.now() - b.get("steady")!.savedAt <= 15_000, true, "re-confirmed recently");
  strictEqual(b.get("cut"), undefined, "not confirmed since the cut: too old");
  strictEqual(
    Object.keys(JSON.parse(await Deno.readTextFile(t.path)).sources).join(),
    "steady",
    "the stale entry is not written any more",
  );
  untrackSteady();
  untrackCut();
  await a.stop();
  strictEqual(clock.pending, 0, "no timer left once nothing is tracked");
});

Deno.test("state file: files of the previous format (one time for all sources) still load", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  await Deno.mkdir(`${t.dir}/sub`);
  await Deno.writeTextFile(
    t.path,
    JSON.stringify({
      version: 1,
      writtenAt: clock.now() - 10_000,
      sources: { s: [{ host: "10.0.0.3", port: 8080, ports: { http: 8080 } }] },
    }),
  );
  const s = await EndpointStateStore.load(t.path, {
    maxAgeSeconds: 60,
    clock,
    logger: memoryLogger(),
  });
  deepStrictEqual(s.get("s"), {
    savedAt: clock.now() - 10_000,
    endpoints: [{
      host: "10.0.0.3",
      port: 8080,
      ports: { http: 8080 },
      origin: `state file ${t.path}`,
    }],
  });
});

Deno.test("state file: entries too old to be loaded are dropped when the file is written", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const opts = { maxAgeSeconds: 60, clock, logger };
  const a = await EndpointStateStore.load(t.path, opts);
  // A source renamed (or removed from the config): its entry is never put again.
  a.put("serverset:/sd/web", [{ host: "10.0.0.1", port: 80, ports: {} }]);
  a.put("serverset:zk:2181/sd/web", [{ host: "10.0.0.1", port: 80, ports: {} }]);
  await a.flush();
  await clock.advance(61_000);
  a.put("serverset:zk:2181/sd/web", [{ host: "10.0.0.2", port: 80, ports: {} }]);
  await a.flush();
  const file = JSON.parse(await Deno.readTextFile(t.path));
  deepStrictEqual(Object.keys(file.sources), ["serverset:zk:2181/sd/web"]);
  strictEqual(a.get("serverset:/sd/web"), undefined);
  await a.stop();
});

Deno.test("state file: written at most once a second however often sources change, and what is pending on stop", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const a = await EndpointStateStore.load(t.path, {
    maxAgeSeconds: 60,
    clock,
    logger: memoryLogger(),
  });
  // 10 changes a second for 3 s (a 2,000-member job churning).
  for (let i = 0; i < 30; i++) {
    a.put("s", [{ host: "10.0.0.1", port: 1000 + i, ports: {} }]);
    await clock.advance(100);
  }
  // The first write 500 ms after the first change, then at most one a second (fewer when
  // a write takes longer than the fake clock's second: the next waits for it).
  strictEqual(a.writes >= 1 && a.writes <= 3, true, `${a.writes} writes in 3 s`);
  a.put("s", [{ host: "10.0.0.1", port: 2000, ports: {} }]);
  await a.stop();
  strictEqual(clock.pending, 0);
  const file = JSON.parse(await Deno.readTextFile(t.path));
  deepStrictEqual(file.sources.s.endpoints.map((e: { port: number }) => e.port), [2000]);
});

Deno.test("state file: a re-read that changed nothing (the same list) writes nothing", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const a = await EndpointStateStore.load(t.path, {
    maxAgeSeconds: 3600,
    clock,
    logger: memoryLogger(),
  });
  const eps = [{ host: "10.0.0.1", port: 80, ports: {} }];
  a.put("s", eps);
  await clock.advance(1000);
  await a.flush();
  const writes = a.writes;
  for (let i = 0; i < 20; i++) {
    a.put("s", eps);
    await clock.advance(500);
  }
  strictEqual(a.writes, writes);
  await a.stop();
});

Deno.test("state file: stop() during a write awaits it, then writes the newest endpoints", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const a = await EndpointStateStore.load(t.path, {
    maxAgeSeconds: 60,
    clock,
    logger: memoryLogger(),
  });
  a.put("s", [{ host: "10.0.0.1", port: 1, ports: {} }]);
  await clock.advance(500); // the batched write starts, and is still under way
  strictEqual(a.writes, 1);
  a.put("s", [{ host: "10.0.0.1", port: 2, ports: {} }]);
  const flushed = a.flush(); // another caller waiting for the newest data too
  await a.stop();
  const ports = async () =>
    JSON.parse(await Deno.readTextFile(t.path)).sources.s.endpoints.map((
      e: { port: number },
    ) => e.port);
  deepStrictEqual(await ports(), [2], "stop resolves once the newest endpoints are on disk");
  await flushed;
  deepStrictEqual(await ports(), [2]);
  strictEqual(a.writes, 2);
  // After stop, nothing is scheduled any more.
  a.put("s", [{ host: "10.0.0.1", port: 3, ports: {} }]);
  a.track("s", () => undefined);
  strictEqual(clock.pending, 0);
});

Deno.test("state file: a truncated one is reported (log, gauge, /health line) and ignored until it is written again", async () => {
  await using t = await tmp();
  const clock = new FakeClock();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const a = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger, metrics });
  strictEqual(metrics.get("state_file_unusable"), 0, "no file at all is not a problem");
  deepStrictEqual(a.health(), { level: "ok", lines: [] });
  a.put("s", [{ host: "10.0.0.1", port: 80, ports: {} }]);
  await a.stop();
  const good = await Deno.readTextFile(t.path);
  await Deno.writeTextFile(t.path, good.slice(0, good.length - 7));
  const b = await EndpointStateStore.load(t.path, { maxAgeSeconds: 60, clock, logger, metrics });
  strictEqual(b.get("s"), undefined);
  strictEqual(b.problem, "not JSON");
  strictEqual(metrics.get("state_file_unusable"), 1);
  deepStrictEqual(b.health(), {
    level: "degraded",
    lines: [
      `state file ${t.path} is unusable (not JSON): ignored; it is written again once a ` +
      "source has read its registry",
    ],
  });
  strictEqual(
    logger.lines.some((l) => l.includes(`ignoring state file ${t.path}: not JSON`)),
    true,
  );
  b.put("s", [{ host: "10.0.0.2", port: 80, ports: {} }]);
  await b.flush();
  strictEqual(b.problem, undefined);
  strictEqual(metrics.get("state_file_unusable"), 0);
  strictEqual(b.health().level, "ok");
  await b.stop();
});
