import { strictEqual } from "node:assert";
import { delayStartAdjuster } from "../../lib/share/delay.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const endpoint = { host: "10.0.0.1", port: 80, ports: {} };

function make(seconds: number, clock = new FakeClock()) {
  const box = { signals: 0 };
  const a = delayStartAdjuster({ kind: "delay_start", path: "", seconds }, {
    endpoint,
    clock,
    signal: () => box.signals++,
  });
  return { clock, a, box };
}

Deno.test("delay start: share 0 for `seconds`, then 1 with exactly one signal and no timer left", async () => {
  const { clock, a, box } = make(30);
  a.start();
  strictEqual(a.current().share, 0);
  strictEqual(a.current().detail, "waiting 0/30s");
  await clock.advance(12_500);
  strictEqual(a.current().detail, "waiting 12/30s");
  await clock.advance(17_499); // 1 ms before the end
  strictEqual(a.current().share, 0);
  strictEqual(box.signals, 0);
  await clock.advance(1);
  strictEqual(a.current().share, 1);
  strictEqual(a.current().detail, "started");
  strictEqual(box.signals, 1);
  strictEqual(clock.pending, 0);
  await clock.advance(600_000);
  strictEqual(box.signals, 1, "signals once only");
  a.stop();
});

Deno.test("delay start: fractional seconds", async () => {
  const { clock, a, box } = make(0.25);
  a.start();
  await clock.advance(249);
  strictEqual(a.current().share, 0);
  await clock.advance(1);
  strictEqual(a.current().share, 1);
  strictEqual(box.signals, 1);
  a.stop();
});

Deno.test("delay start: 0 seconds is full share at once, with no timer and no signal", () => {
  const { clock, a, box } = make(0);
  a.start();
  strictEqual(a.current().share, 1);
  strictEqual(clock.pending, 0);
  strictEqual(box.signals, 0);
  a.stop();
});

Deno.test("delay start: stop before the end leaves no timer and never signals", async () => {
  const { clock, a, box } = make(30);
  a.start();
  strictEqual(clock.pending, 1);
  await clock.advance(10_000);
  a.stop();
  a.stop(); // idempotent
  strictEqual(clock.pending, 0);
  await clock.advance(60_000);
  strictEqual(box.signals, 0);
});

Deno.test("delay start: counts from creation, not from start()", async () => {
  const clock = new FakeClock();
  const { a, box } = make(30, clock);
  await clock.advance(20_000);
  a.start();
  strictEqual(a.current().detail, "waiting 20/30s");
  await clock.advance(10_000);
  strictEqual(a.current().share, 1);
  strictEqual(box.signals, 1);

  const late = make(30, clock);
  await clock.advance(45_000);
  late.a.start(); // the delay is already over: the updater hears of the full share at once
  strictEqual(late.a.current().share, 1);
  strictEqual(late.box.signals, 1);
  strictEqual(clock.pending, 0);
  a.stop();
  late.a.stop();
});
