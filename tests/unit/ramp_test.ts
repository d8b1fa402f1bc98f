import { strictEqual } from "node:assert";
import type { RampConfig } from "../../lib/config/types.ts";
import { rampAdjuster, rampShare } from "../../lib/share/ramp.ts";
import { delayStartAdjuster } from "../../lib/share/delay.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

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

Deno.test("ramp: linear as the original: 0 during the delay, then linear to 1", () => {
  const c = cfg();
  const at = [0, 9.9, 10, 25, 40, 70, 100].map((s) => rampShare(c, s));
  strictEqual(at.join(","), "0,0,0,0.25,0.5,1,1");
});

Deno.test("ramp: quadratic starts slower and ends at 1; min_share lifts the start", () => {
  strictEqual(rampShare(cfg({ curve: "quadratic" }), 40), 0.25);
  strictEqual(rampShare(cfg({ curve: "quadratic" }), 70), 1);
  strictEqual(rampShare(cfg({ minShare: 0.1 }), 0), 0.1);
  strictEqual(rampShare(cfg({ minShare: 0.1 }), 40), 0.55);
  strictEqual(rampShare(cfg({ rampSeconds: 0 }), 10), 1);
});

Deno.test("ramp adjuster: signals every update_frequency while ramping, then stops with no timer left", async () => {
  const clock = new FakeClock();
  let signals = 0;
  const a = rampAdjuster(cfg(), { endpoint, clock, signal: () => signals++ });
  a.start();
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "waiting 0/10s");
  await clock.advance(10_000); // delay over, share still 0: no signal
  strictEqual(signals, 0);
  await clock.advance(15_000);
  strictEqual(a.current().share, 0.25);
  strictEqual(a.current().detail, "ramping 15/60s linear");
  await clock.advance(45_000); // t = 70 s: ramped
  strictEqual(a.current().share, 1);
  strictEqual(a.current().detail, "ramped");
  // Ticks at 20, 30, 40, 50, 60, 70 s each changed the share.
  strictEqual(signals, 6);
  strictEqual(clock.pending, 0, "no timer after the ramp");
  await clock.advance(60_000);
  strictEqual(signals, 6);
  a.stop();
});

Deno.test("ramp adjuster: stop leaves no timer", () => {
  const clock = new FakeClock();
  const a = rampAdjuster(cfg(), { endpoint, clock, signal: () => {} });
  a.start();
  strictEqual(clock.pending, 1);
  a.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("delay start: share 0 for `seconds`, then 1 with one signal", async () => {
  const clock = new FakeClock();
  let signals = 0;
  const a = delayStartAdjuster({ kind: "delay_start", path: "", seconds: 30 }, {
    endpoint,
    clock,
    signal: () => signals++,
  });
  a.start();
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "starting in 30s");
  await clock.advance(29_999);
  strictEqual(a.current().share, 0);
  await clock.advance(1);
  strictEqual(a.current().share, 1);
  strictEqual(signals, 1);
  strictEqual(clock.pending, 0);
  a.stop();
});
