import { deepStrictEqual, strictEqual } from "node:assert";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { GorScriptSpec, MirrorCommand } from "../../lib/mirror/gor_script.ts";
import { MirrorUpdater } from "../../lib/mirror/mirror_updater.ts";
import { writeScriptAtomically } from "../../lib/mirror/script_writer.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { MutableSource } from "../../testing/mutable_source.ts";

const SPEC: GorScriptSpec = {
  mode: "mirror",
  gorPath: "/opt/go/bin/gor",
  pidPath: "/tmp/mirror_pid",
  ports: [8080],
  maxQps: 10,
};

/** A runner that records what it was asked to apply. */
function recordingRunner() {
  const calls: { kind: string; targets: string[]; changed: boolean }[] = [];
  return {
    calls,
    apply: (want: MirrorCommand, changed: boolean) => {
      calls.push({
        kind: want.kind,
        targets: want.argv.filter((_, i) => want.argv[i - 1] === "--output-tcp"),
        changed,
      });
      return Promise.resolve();
    },
    stop: () => Promise.resolve(),
  };
}

async function fixture(minIntervalMs = 15_000) {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-mirror-unit-" });
  const clock = new FakeClock();
  const source = new MutableSource("mirror", [9000]);
  const runner = recordingRunner();
  const metrics = new MetricsRegistry("aurproxy");
  const path = `${dir}/dynamic.sh`;
  let failWrites = false;
  const updater = new MirrorUpdater({
    spec: SPEC,
    commandPath: path,
    minIntervalMs,
    targets: source,
    runner,
    clock,
    logger: memoryLogger(),
    metrics,
    writeScript: (p, t) =>
      failWrites ? Promise.reject(new Error("disk full")) : writeScriptAtomically(p, t),
  });
  return {
    dir,
    clock,
    source,
    runner,
    metrics,
    updater,
    script: () => Deno.readTextFile(path),
    failWrites: (v: boolean) => failWrites = v,
    async [Symbol.asyncDispose]() {
      await updater.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("mirror updater: first script at start, then at most one update per interval", async () => {
  await using f = await fixture(15_000);
  await f.updater.start();
  deepStrictEqual(f.runner.calls, [{ kind: "gor", targets: ["127.0.0.1:9000|10"], changed: true }]);
  strictEqual((await f.script()).includes('--output-tcp "127.0.0.1:9000|10"'), true);

  // A burst of changes inside the interval: nothing yet, then one update with the last set.
  await f.clock.advance(1_000);
  await f.updater.idle();
  f.source.setPorts([9001]);
  f.source.setPorts([9002]);
  f.source.setPorts([9002, 9003]);
  await f.clock.advance(13_999);
  await f.updater.idle();
  strictEqual(f.runner.calls.length, 1);
  strictEqual(f.updater.status().pending, true);
  await f.clock.advance(1);
  await f.updater.idle();
  deepStrictEqual(f.runner.calls.slice(1), [{
    kind: "gor",
    targets: ["127.0.0.1:9002|10", "127.0.0.1:9003|10"],
    changed: true,
  }]);
  strictEqual(f.updater.status().pending, false);

  // A change long after the last update is applied at once.
  await f.clock.advance(60_000);
  await f.updater.idle();
  f.source.setPorts([9004]);
  await f.clock.advance(0);
  await f.updater.idle();
  strictEqual(f.runner.calls.length, 3);
  strictEqual(f.runner.calls[2].targets[0], "127.0.0.1:9004|10");
  strictEqual(f.metrics.get("mirror_updates_total", { result: "ok" }), 3);
  strictEqual(f.metrics.get("mirror_targets"), 1);
});

Deno.test("mirror updater: endpoints gone -> placeholder; the same set again is no change", async () => {
  await using f = await fixture(0);
  await f.updater.start();
  f.source.setPorts([]);
  await f.clock.advance(0);
  await f.updater.idle();
  strictEqual(f.runner.calls[1].kind, "fallback");
  strictEqual((await f.script()).includes("No mirror source endpoints found."), true);
  f.source.setPorts([]);
  await f.clock.advance(0);
  await f.updater.idle();
  // Rewritten to the same text: the runner hears "unchanged".
  strictEqual(f.runner.calls[2].changed, false);
});

Deno.test("mirror updater: a failed write is retried an interval later and shows as degraded", async () => {
  await using f = await fixture(0);
  f.failWrites(true);
  await f.updater.start();
  strictEqual(f.runner.calls.length, 0);
  strictEqual(f.updater.health().level, "degraded");
  strictEqual(f.updater.health().lines[0].includes("disk full"), true);
  // With a 0 s interval, retries still wait the 1 s floor, not spin.
  await f.clock.advance(999);
  await f.updater.idle();
  strictEqual(f.updater.status().failures, 1);
  await f.clock.advance(1);
  await f.updater.idle();
  strictEqual(f.updater.status().failures, 2);
  f.failWrites(false);
  await f.clock.advance(1_000);
  await f.updater.idle();
  strictEqual(f.updater.health().level, "ok");
  strictEqual(f.runner.calls.length, 1);
  strictEqual(f.metrics.get("mirror_updates_total", { result: "failed" }), 2);
});

Deno.test("mirror updater: setup writes once and applies nothing; stop leaves no timer", async () => {
  await using f = await fixture(15_000);
  const c = await f.updater.setup();
  strictEqual(c.kind, "gor");
  strictEqual(f.runner.calls.length, 0);
  strictEqual((await f.script()).startsWith("#!/bin/bash\necho $$ > /tmp/mirror_pid\n"), true);

  await f.updater.start();
  f.source.setPorts([9009]);
  strictEqual(f.clock.pending, 1);
  await f.updater.stop();
  strictEqual(f.clock.pending, 0);
  f.source.setPorts([9010]);
  await f.clock.advance(60_000);
  await f.updater.idle();
  strictEqual(f.runner.calls.length, 1);
});
