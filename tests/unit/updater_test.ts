import { strictEqual } from "node:assert";
import { type UpdateOutcome, Updater } from "../../lib/pipeline/updater.ts";
import { memoryLogger } from "../../lib/log.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

function setup(minIntervalSeconds: number, outcome: () => UpdateOutcome = () => "done") {
  const clock = new FakeClock();
  const times: number[] = [];
  const u = new Updater({
    clock,
    logger: memoryLogger(),
    updatePeriodSeconds: 2,
    minIntervalSeconds,
    update: () => {
      times.push(clock.now());
      return Promise.resolve(outcome());
    },
  });
  u.start();
  return { clock, u, times };
}

Deno.test("Updater: a burst of changes in one turn is one update", async () => {
  const { clock, u, times } = setup(0);
  for (let i = 0; i < 1000; i++) u.markDirty();
  await clock.advance(1);
  strictEqual(times.length, 1);
  await u.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("Updater: nothing happens without a change", async () => {
  const { clock, u, times } = setup(0);
  await clock.advance(60_000);
  strictEqual(times.length, 0);
  await u.stop();
});

Deno.test("Updater: the first change applies at once, not at the next period tick", async () => {
  const { clock, u, times } = setup(10);
  const t0 = clock.now();
  u.markDirty();
  await clock.advance(0);
  strictEqual(times.length, 1);
  strictEqual(times[0], t0);
  await u.stop();
});

Deno.test("Updater: the minimum interval throttles a steady stream of changes", async () => {
  const { clock, u, times } = setup(10);
  // A change every 100 ms for 60 s.
  for (let i = 0; i < 600; i++) {
    u.markDirty();
    await clock.advance(100);
  }
  // At most one update per 10 s window: t=0, 10, 20, ... 50 (and the last change at 60).
  strictEqual(times.length <= 7, true, `too many updates: ${times.length}`);
  strictEqual(times.length >= 6, true, `too few updates: ${times.length}`);
  for (let i = 1; i < times.length; i++) {
    strictEqual(times[i] - times[i - 1] >= 10_000, true, `updates ${i - 1},${i} too close`);
  }
  await u.stop();
});

Deno.test("Updater: a change during the quiet window is applied when the window ends", async () => {
  const { clock, u, times } = setup(10);
  const t0 = clock.now();
  u.markDirty();
  await clock.advance(1000);
  u.markDirty();
  await clock.advance(8000);
  strictEqual(times.length, 1);
  await clock.advance(1000);
  strictEqual(times.length, 2);
  strictEqual(times[1] - t0, 10_000);
  await u.stop();
});

Deno.test("Updater: min interval 0 applies every separate change", async () => {
  const { clock, u, times } = setup(0);
  for (let i = 0; i < 5; i++) {
    u.markDirty();
    await clock.advance(50);
  }
  strictEqual(times.length, 5);
  await u.stop();
});

Deno.test("Updater: 'retry' re-runs on the next period tick; 'done' does not", async () => {
  let outcome: UpdateOutcome = "retry";
  const { clock, u, times } = setup(0, () => outcome);
  u.markDirty();
  await clock.advance(1);
  strictEqual(times.length, 1);
  outcome = "done";
  await clock.advance(2000);
  strictEqual(times.length, 2);
  await clock.advance(10_000);
  strictEqual(times.length, 2);
  await u.stop();
  strictEqual(clock.pending, 0);
});
