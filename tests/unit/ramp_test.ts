import { strictEqual } from "node:assert";
import type { RampConfig } from "../../lib/model/config.ts";
import { describeRamp, rampAdjuster, rampShare } from "../../lib/share/ramp.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const cfg = (o: Partial<RampConfig> = {}): RampConfig => ({
  kind: "ramp",
  path: "",
  rampDelay: 10,
  rampSeconds: 60,
  updateFrequency: 10,
  curve: "linear",
  minShare: 0,
  ...o,
});

const endpoint = { host: "10.0.0.1", port: 80, ports: {} };
const round = (x: number) => Math.round(x * 1e6) / 1e6;
const sharesAt = (c: RampConfig, seconds: number[]) =>
  seconds.map((s) => round(rampShare(c, s))).join(",");

/** A started ramp adjuster on a fake clock, counting its signals. */
function started(c: RampConfig) {
  const clock = new FakeClock();
  const box = { signals: 0 };
  const a = rampAdjuster(c, { endpoint, clock, signal: () => box.signals++ });
  a.start();
  return { clock, a, box };
}

Deno.test("ramp curve: linear as the original: 0 during the delay, then 0 -> 1 over ramp_seconds", () => {
  strictEqual(sharesAt(cfg(), [0, 9.9, 10, 25, 40, 55, 70, 100]), "0,0,0,0.25,0.5,0.75,1,1");
});

Deno.test("ramp curve: quadratic starts slower and meets linear at both ends", () => {
  const q = cfg({ curve: "quadratic" });
  strictEqual(sharesAt(q, [5, 10, 25, 40, 55, 70, 80]), "0,0,0.0625,0.25,0.5625,1,1");
  for (const s of [20, 40, 60]) {
    strictEqual(rampShare(q, s) < rampShare(cfg(), s), true, `quadratic below linear at ${s}s`);
  }
});

Deno.test("ramp curve: min_share is the floor during the delay and the ramp's start", () => {
  const m = cfg({ minShare: 0.2 });
  strictEqual(sharesAt(m, [0, 9, 10, 40, 70]), "0.2,0.2,0.2,0.6,1");
  strictEqual(sharesAt(cfg({ minShare: 0.2, curve: "quadratic" }), [0, 40, 70]), "0.2,0.4,1");
  strictEqual(sharesAt(cfg({ minShare: 1 }), [0, 40]), "1,1");
});

Deno.test("ramp curve: no delay and no ramp time", () => {
  strictEqual(sharesAt(cfg({ rampDelay: 0 }), [0, 30, 60]), "0,0.5,1");
  strictEqual(sharesAt(cfg({ rampSeconds: 0 }), [0, 9.99, 10]), "0,0,1");
  strictEqual(sharesAt(cfg({ rampDelay: 0, rampSeconds: 0 }), [0]), "1");
});

Deno.test("ramp detail: waiting, ramping with the share, ramped", () => {
  strictEqual(describeRamp(cfg(), 5), "waiting 5/10s");
  strictEqual(describeRamp(cfg(), 22), "ramping 12/60s (0.20)");
  strictEqual(describeRamp(cfg({ curve: "quadratic" }), 40), "ramping 30/60s (0.25)");
  strictEqual(describeRamp(cfg(), 70), "ramped");
});

Deno.test("ramp adjuster: values over time, a signal per update_frequency while ramping, none after", async () => {
  const { clock, a, box } = started(cfg());
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "waiting 0/10s");
  strictEqual(clock.pending, 1, "one timer to the end of the delay, no ticking while waiting");
  await clock.advance(5_000);
  strictEqual(a.current().detail, "waiting 5/10s");
  strictEqual(
    JSON.stringify(a.current().state),
    '{"phase":"waiting","progress":0,"elapsedSeconds":5}',
  );
  await clock.advance(5_000); // t = 10 s: ramp begins, share still 0
  strictEqual(box.signals, 0, "nothing changed yet: no signal");
  await clock.advance(12_000); // t = 22 s
  strictEqual(round(a.current().share), 0.2);
  strictEqual(a.current().detail, "ramping 12/60s (0.20)");
  strictEqual(a.current().state?.phase, "ramping");
  strictEqual(round(a.current().state?.progress as number), 0.2);
  strictEqual(box.signals, 1, "tick at 20 s");
  await clock.advance(48_000); // t = 70 s
  strictEqual(a.current().share, 1);
  strictEqual(a.current().detail, "ramped");
  strictEqual(a.current().state?.phase, "ramped");
  strictEqual(box.signals, 6, "ticks at 20, 30, 40, 50, 60 and 70 s");
  strictEqual(clock.pending, 0, "no timer once ramped");
  await clock.advance(600_000);
  strictEqual(box.signals, 6, "no signal after the ramp");
  a.stop();
});

Deno.test("ramp adjuster: the last signal comes exactly at the ramp's end, off the tick grid", async () => {
  const { clock, a, box } = started(cfg({ rampDelay: 0, rampSeconds: 25, updateFrequency: 10 }));
  await clock.advance(20_000);
  strictEqual(box.signals, 2, "ticks at 10 and 20 s");
  await clock.advance(4_999);
  strictEqual(box.signals, 2);
  strictEqual(a.current().share < 1, true);
  await clock.advance(1); // t = 25 s
  strictEqual(box.signals, 3);
  strictEqual(a.current().share, 1);
  strictEqual(clock.pending, 0);
  a.stop();
});

Deno.test("ramp adjuster: min_share > 0 and no ramp time signal once, at the end of the delay", async () => {
  const { clock, a, box } = started(cfg({ rampSeconds: 0, minShare: 0.5 }));
  strictEqual(a.current().share, 0.5);
  await clock.advance(10_000);
  strictEqual(a.current().share, 1);
  strictEqual(box.signals, 1);
  strictEqual(clock.pending, 0);
  a.stop();
});

Deno.test("ramp adjuster: an already full share keeps no timer and never signals", async () => {
  const { clock, a, box } = started(cfg({ rampDelay: 0, rampSeconds: 0 }));
  strictEqual(a.current().detail, "ramped");
  strictEqual(clock.pending, 0);
  await clock.advance(1000);
  strictEqual(box.signals, 0);
  a.stop();
});

Deno.test("ramp adjuster: stop, while waiting or mid-ramp, leaves no timer and no later signal", async () => {
  const waiting = started(cfg());
  strictEqual(waiting.clock.pending, 1);
  waiting.a.stop();
  strictEqual(waiting.clock.pending, 0);

  const ramping = started(cfg());
  await ramping.clock.advance(35_000);
  strictEqual(ramping.box.signals, 2);
  ramping.a.stop();
  ramping.a.stop(); // idempotent
  strictEqual(ramping.clock.pending, 0);
  await ramping.clock.advance(100_000);
  strictEqual(ramping.box.signals, 2);
});

Deno.test("ramp adjuster: time counts from creation, even if started later", async () => {
  const clock = new FakeClock();
  let signals = 0;
  const a = rampAdjuster(cfg(), { endpoint, clock, signal: () => signals++ });
  await clock.advance(40_000);
  a.start();
  strictEqual(round(a.current().share), 0.5);
  strictEqual(signals, 1, "the share it missed is signalled at start");
  await clock.advance(30_000);
  strictEqual(a.current().share, 1);
  strictEqual(signals, 4, "then 50, 60, 70 s");
  strictEqual(clock.pending, 0);
  a.stop();
});

Deno.test("ramp adjuster: a move below the weights' resolution (a tick late by a few ms) is no signal", async () => {
  const clock = new FakeClock();
  const box = { signals: 0 };
  const a = rampAdjuster(cfg({ minShare: 0.2 }), { endpoint, clock, signal: () => box.signals++ });
  await clock.advance(10_003); // started 3 ms after the delay ended: share 0.20004
  a.start();
  strictEqual(box.signals, 0, "0.2 -> 0.20004 would not change a weight");
  await clock.advance(10_000);
  strictEqual(box.signals, 1, "the next tick moves the share by 0.13");
  a.stop();
});
