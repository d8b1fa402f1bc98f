import { deepStrictEqual, strictEqual } from "node:assert";
import { memoryLogger } from "../../lib/log.ts";
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
