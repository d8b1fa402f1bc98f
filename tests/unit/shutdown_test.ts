import { deepStrictEqual, strictEqual } from "node:assert";
import { ShutdownSequence } from "../../lib/lifecycle/shutdown.ts";
import { memoryLogger } from "../../lib/log.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

Deno.test("shutdown: steps run by phase (deregister, flush, stop children, close), in the order added within one", async () => {
  const ran: string[] = [];
  const shutdown = new ShutdownSequence({ logger: memoryLogger() });
  const step = (name: string) => () => void ran.push(name);
  shutdown.add("close", "zookeeper", step("zookeeper"));
  shutdown.add("close", "management", step("management"));
  shutdown.add("stop_children", "nginx", step("nginx"));
  shutdown.add("flush", "state file", step("state file"));
  shutdown.add("deregister", "elb", step("elb"));
  deepStrictEqual(shutdown.steps().map((s) => `${s.phase}/${s.name}`), [
    "deregister/elb",
    "flush/state file",
    "stop_children/nginx",
    "close/zookeeper",
    "close/management",
  ]);
  strictEqual(shutdown.started, false);
  const first = shutdown.run("SIGTERM");
  strictEqual(shutdown.started, true);
  strictEqual(shutdown.run("quitquitquit"), first, "runs once, whoever asks");
  await first;
  deepStrictEqual(ran, ["elb", "state file", "nginx", "zookeeper", "management"]);
});

Deno.test("shutdown: a failing or stuck step is logged at its deadline and the rest still run", async () => {
  const clock = new FakeClock();
  const logger = memoryLogger();
  const ran: string[] = [];
  const shutdown = new ShutdownSequence({ logger, clock, stepTimeoutMs: 1000 });
  shutdown.add("deregister", "stuck", () => new Promise(() => {}));
  shutdown.add("flush", "broken", () => {
    throw new Error("disk full");
  });
  shutdown.add("close", "slow", () => new Promise(() => {}), { timeoutMs: 50 });
  shutdown.add("close", "last", () => void ran.push("last"));
  let done = false;
  const run = shutdown.run("SIGTERM").then(() => (done = true));
  await clock.advance(999);
  strictEqual(done, false);
  await clock.advance(1);
  await clock.advance(50);
  await run;
  deepStrictEqual(ran, ["last"]);
  const errors = logger.lines.filter((l) => l.includes("ERROR"));
  deepStrictEqual(errors.map((l) => l.replace(/^\S+ ERROR /, "")), [
    "shutdown step deregister/stuck failed: timed out after 1000 ms",
    "shutdown step flush/broken failed: disk full",
    "shutdown step close/slow failed: timed out after 50 ms",
  ]);
  strictEqual(logger.lines.at(-1)!.endsWith("shutdown complete"), true);
  strictEqual(clock.pending, 0, "no deadline timer left behind");
});

Deno.test("shutdown: a step may add a step to a later phase; one added to a phase already run is reported", async () => {
  const logger = memoryLogger();
  const ran: string[] = [];
  const shutdown = new ShutdownSequence({ logger });
  shutdown.add("flush", "adds", () => {
    shutdown.add("close", "added", () => void ran.push("added"));
    shutdown.add("deregister", "too late", () => void ran.push("too late"));
  });
  await shutdown.run("test");
  deepStrictEqual(ran, ["added"]);
  strictEqual(
    logger.lines.some((l) => l.includes("shutdown step deregister/too late added too late")),
    true,
  );
});
