import { deepStrictEqual, strictEqual } from "node:assert";
import { ShutdownSequence } from "../../lib/lifecycle/shutdown.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import {
  type Outcome,
  RegistrationError,
  type SelfRegisterer,
} from "../../lib/register/registerer.ts";
import { SelfRegistration } from "../../lib/register/self_registration.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

/** A registerer that records calls and fails, hangs or succeeds as the test says. */
class ScriptedRegisterer implements SelfRegisterer {
  readonly description = "elb web";
  readonly calls: string[] = [];
  /** What the next register calls do, in order; then "ok". */
  script: ("ok" | "fail" | "hang")[] = [];
  deregisterMode: "ok" | "fail" | "hang" = "ok";
  closed = 0;

  #run(op: string, mode: "ok" | "fail" | "hang", signal?: AbortSignal): Promise<Outcome[]> {
    this.calls.push(op);
    if (mode === "fail") {
      return Promise.reject(new RegistrationError(`${op}: Throttling: Rate exceeded`));
    }
    if (mode === "hang") {
      // Ignores the signal on purpose, like a call stuck below the SDK.
      return new Promise(() => {});
    }
    signal?.throwIfAborted();
    return Promise.resolve([]);
  }
  register(signal?: AbortSignal) {
    return this.#run("register", this.script.shift() ?? "ok", signal);
  }
  deregister(signal?: AbortSignal) {
    return this.#run("deregister", this.deregisterMode, signal);
  }
  status() {
    return Promise.resolve([]);
  }
  close() {
    this.closed++;
  }
}

function setup(deregisterTimeoutMs = 5000) {
  const clock = new FakeClock();
  const registerer = new ScriptedRegisterer();
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const reg = new SelfRegistration({ registerer, clock, logger, metrics, deregisterTimeoutMs });
  return { clock, registerer, metrics, logger, reg };
}

const applied = { kind: "applied", reloaded: true, durationMs: 5 } as const;

Deno.test("self registration: nothing before the first successful apply, then once", async () => {
  const { registerer, reg, metrics } = setup();
  reg.onApplied({ kind: "invalid" });
  reg.onApplied({ kind: "reload_failed" });
  await reg.idle();
  deepStrictEqual(registerer.calls, []);
  strictEqual(reg.status().state, "waiting");
  strictEqual(reg.healthProbe()().level, "ok");
  reg.onApplied(applied);
  await reg.idle();
  reg.onApplied(applied);
  reg.onApplied({ kind: "unchanged" });
  await reg.idle();
  deepStrictEqual(registerer.calls, ["register"]);
  strictEqual(reg.status().state, "registered");
  strictEqual(metrics.get("registration_registered"), 1);
  strictEqual(metrics.get("registration_attempts_total", { op: "register" }), 1);
});

Deno.test("self registration: failures are counted, retried with backoff, and make health degraded, never failed", async () => {
  const { clock, registerer, reg, metrics, logger } = setup();
  registerer.script = ["fail", "fail", "fail"];
  reg.onApplied({ kind: "unchanged" });
  await reg.idle();
  strictEqual(reg.status().state, "failing");
  const h = reg.healthProbe()();
  strictEqual(h.level, "degraded");
  deepStrictEqual(h.lines, [
    "registration (elb web): failing for 0s (1 attempt(s), next try in 1s): register: Throttling: Rate exceeded",
  ]);
  // 1 s, then 2 s, then 4 s: nothing early.
  await clock.advance(999);
  strictEqual(registerer.calls.length, 1);
  await clock.advance(1);
  await reg.idle();
  strictEqual(registerer.calls.length, 2);
  await clock.advance(1999);
  strictEqual(registerer.calls.length, 2);
  await clock.advance(1);
  await reg.idle();
  strictEqual(registerer.calls.length, 3);
  strictEqual(reg.status().consecutiveFailures, 3);
  await clock.advance(4000);
  await reg.idle();
  strictEqual(registerer.calls.length, 4);
  strictEqual(reg.status().state, "registered");
  strictEqual(reg.healthProbe()().level, "ok");
  strictEqual(metrics.get("registration_failures_total", { op: "register" }), 3);
  strictEqual(metrics.get("registration_attempts_total", { op: "register" }), 4);
  strictEqual(
    logger.lines.filter((l) => l.includes("ERROR") && l.includes("retrying in")).length,
    3,
  );
  await reg.deregister();
  strictEqual(clock.pending, 0);
});

Deno.test("self registration: deregisters once at shutdown, stops retrying, closes the clients", async () => {
  const { clock, registerer, reg, metrics } = setup();
  registerer.script = ["fail"];
  reg.onApplied(applied);
  await reg.idle();
  await Promise.all([reg.deregister(), reg.deregister()]);
  await clock.advance(120_000);
  // A failed registration may still have reached AWS: deregistration runs anyway.
  deepStrictEqual(registerer.calls, ["register", "deregister"]);
  strictEqual(reg.status().state, "deregistered");
  strictEqual(registerer.closed, 1);
  strictEqual(metrics.get("registration_attempts_total", { op: "deregister" }), 1);
  strictEqual(clock.pending, 0);
});

Deno.test("self registration: never registered (shut down before the first apply): nothing to deregister", async () => {
  const { registerer, reg } = setup();
  await reg.deregister();
  reg.onApplied(applied);
  await reg.idle();
  deepStrictEqual(registerer.calls, []);
});

Deno.test("self registration: a hung registration and a hung deregistration cost shutdown the bound, no more", async () => {
  const { clock, registerer, reg, logger, metrics } = setup(5000);
  registerer.script = ["hang"];
  registerer.deregisterMode = "hang";
  reg.onApplied(applied);
  let done = false;
  const d = reg.deregister().then(() => (done = true));
  await clock.advance(4999);
  strictEqual(done, false);
  await clock.advance(1);
  await d;
  strictEqual(reg.status().state, "deregister_failed");
  strictEqual(reg.healthProbe()().level, "degraded");
  strictEqual(metrics.get("registration_failures_total", { op: "deregister" }), 1);
  strictEqual(
    logger.lines.some((l) =>
      l.includes("deregistration from elb web failed: deregistration gave up after 5000 ms")
    ),
    true,
    logger.lines.join("\n"),
  );
  strictEqual(clock.pending, 0);
});

Deno.test("self registration: in the deregister phase, deregistration runs before the proxy stops, though added last", async () => {
  const { registerer, reg } = setup();
  reg.onApplied(applied);
  await reg.idle();
  const order: string[] = [];
  const shutdown = new ShutdownSequence({ logger: memoryLogger(), stepTimeoutMs: 1000 });
  shutdown.add("stop_children", "proxy", () => void order.push("proxy stopped"));
  shutdown.add("deregister", "registration", async () => {
    await reg.deregister();
    order.push(`deregistered (${registerer.calls.join(",")})`);
  });
  await shutdown.run("SIGTERM");
  deepStrictEqual(order, ["deregistered (register,deregister)", "proxy stopped"]);
});
