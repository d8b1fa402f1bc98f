/**
 * The check scheduler over a fake clock: how often each job runs when some checks hang
 * until their timeout, and how the concurrency cap follows the jobs.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  CheckScheduler,
  DEFAULT_TICK_MS,
  MIN_SPARE_SLOTS,
} from "../../lib/share/health/scheduler.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

/** A run that lasts `ms` on the fake clock, or until aborted. */
function lasting(clock: FakeClock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clock.clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

Deno.test("check scheduler: healthy endpoints keep their rate while many others time out", async () => {
  // 2,000 endpoints every 3 s with a 2 s timeout; 300 of them hang until the timeout.
  const clock = new FakeClock();
  const scheduler = new CheckScheduler({ clock, random: () => 0.25 });
  const starts = Array.from({ length: 2000 }, () => [] as number[]);
  const hanging = (i: number) => i % 20 < 3; // 300 of 2,000, spread among the others
  const removers = starts.map((mine, i) =>
    scheduler.add({
      intervalMs: 3000,
      timeoutMs: 2000,
      run: (signal) => {
        mine.push(clock.now());
        return lasting(clock, hanging(i) ? 2000 : 5, signal);
      },
    })
  );
  strictEqual(scheduler.maxConcurrent, Math.ceil(2000 * 2 / 3) + MIN_SPARE_SLOTS);
  await clock.advance(30_000);
  // Every endpoint, healthy or hanging, is checked on each of its 3 s turns.
  for (const [i, at] of starts.entries()) {
    strictEqual(at.length >= 10, true, `endpoint ${i} checked ${at.length} times in 30 s`);
    const gaps = new Set(at.slice(1).map((t, k) => t - at[k]));
    deepStrictEqual([...gaps], [3000], `endpoint ${i}: gaps ${[...gaps]}`);
  }
  strictEqual(scheduler.maxInFlight >= 200, true, `${scheduler.maxInFlight} at most in flight`);
  strictEqual(scheduler.maxInFlight <= scheduler.maxConcurrent, true);
  for (const remove of removers) remove();
  strictEqual(clock.pending, 0);
  await clock.advance(0);
  strictEqual(scheduler.inFlight, 0, "removing a job aborts its check");
});

Deno.test("check scheduler: the default cap follows the jobs added and removed; a fixed one does not", () => {
  const clock = new FakeClock();
  const s = new CheckScheduler({ clock });
  strictEqual(s.maxConcurrent, MIN_SPARE_SLOTS);
  const run = () => Promise.resolve();
  const a = Array.from({ length: 100 }, () => s.add({ intervalMs: 1000, timeoutMs: 1000, run }));
  const b = Array.from({ length: 10 }, () => s.add({ intervalMs: 3000, timeoutMs: 1500, run }));
  // A job without a timeout counts as short; a timeout above the interval counts as one.
  s.add({ intervalMs: 1000, run })();
  const c = s.add({ intervalMs: 1000, timeoutMs: 5000, run });
  strictEqual(s.maxConcurrent, 100 + 5 + 1 + MIN_SPARE_SLOTS);
  for (const r of a) r();
  c();
  strictEqual(s.maxConcurrent, 5 + MIN_SPARE_SLOTS);
  for (const r of b) r();
  strictEqual(s.maxConcurrent, MIN_SPARE_SLOTS);
  strictEqual(clock.pending, 0);

  const fixed = new CheckScheduler({ clock, maxConcurrent: 4 });
  const r = fixed.add({ intervalMs: 1000, timeoutMs: 1000, run });
  strictEqual(fixed.maxConcurrent, 4);
  r();
});

Deno.test("check scheduler: a turn missed while the check runs runs when it ends, never two at once", async () => {
  // Checks lasting exactly the interval (timeout == interval, all timing out).
  const clock = new FakeClock();
  const s = new CheckScheduler({ clock, random: () => 0 });
  const t0 = clock.now();
  const starts: number[] = [];
  let inFlight = 0;
  let most = 0;
  const remove = s.add({
    intervalMs: 1000,
    timeoutMs: 1000,
    run: async (signal) => {
      starts.push(clock.now() - t0);
      most = Math.max(most, ++inFlight);
      await lasting(clock, 1000, signal);
      inFlight--;
    },
  });
  await clock.advance(4500);
  deepStrictEqual(starts, [0, 1000, 2000, 3000, 4000]);
  strictEqual(most, 1);
  remove();
  strictEqual(clock.pending, 0);
});

Deno.test("check scheduler: a check longer than the interval gets no burst of catch-up runs", async () => {
  const clock = new FakeClock();
  const s = new CheckScheduler({ clock, random: () => 0 });
  const t0 = clock.now();
  const starts: number[] = [];
  const remove = s.add({
    intervalMs: 1000,
    run: (signal) => {
      starts.push(clock.now() - t0);
      return lasting(clock, 2500, signal);
    },
  });
  await clock.advance(6000);
  // Turns at 1 s and 2 s fall into the first run: one catch-up run when it ends, not two.
  deepStrictEqual(starts, [0, 2500, 5000]);
  remove();
  strictEqual(clock.pending, 0);
});

Deno.test("check scheduler: rejects a negative timeout", () => {
  const s = new CheckScheduler({ clock: new FakeClock() });
  throws(
    () => s.add({ intervalMs: 1000, timeoutMs: -1, run: () => Promise.resolve() }),
    /timeoutMs/,
  );
});

/** When each of `n` jobs (interval 1 s) starts its first two turns, by job. */
async function startTimes(clock: FakeClock, s: CheckScheduler, n: number): Promise<number[][]> {
  const t0 = clock.now();
  const starts = Array.from({ length: n }, () => [] as number[]);
  const removers = starts.map((mine) =>
    s.add({ intervalMs: 1000, run: () => Promise.resolve(void mine.push(clock.now() - t0)) })
  );
  await clock.advance(2500);
  for (const remove of removers) remove();
  strictEqual(clock.pending, 0);
  return starts.map((at) => at.slice(0, 2));
}

Deno.test("check scheduler: checks due within a tick start together at its end, never early, less than a tick late", async () => {
  const c1 = new FakeClock(1_700_000_000_003);
  const due = await startTimes(
    c1,
    new CheckScheduler({ clock: c1, random: () => 0.3, tickMs: 0 }),
    300,
  );
  const c2 = new FakeClock(1_700_000_000_003);
  const ticked = await startTimes(c2, new CheckScheduler({ clock: c2, random: () => 0.3 }), 300);
  strictEqual(DEFAULT_TICK_MS, 10);
  strictEqual(new Set(due.flat()).size, 600, "without ticks each job has its own time");
  for (const [i, at] of ticked.entries()) {
    strictEqual(at.length, 2, `job ${i}`);
    for (const [k, t] of at.entries()) {
      const late = t - due[i][k];
      strictEqual(late >= 0 && late < 10, true, `job ${i} started ${late} ms after its turn`);
      strictEqual((1_700_000_000_003 + t) % 10, 0, "on the tick grid");
    }
  }
  // 300 jobs a second in 10 ms ticks: ~3 start together, and nearly every tick has some.
  strictEqual(new Set(ticked.flat()).size >= 190, true);
});

Deno.test("check scheduler: one timer however many jobs; rejects a negative or infinite tick", () => {
  const clock = new FakeClock();
  const s = new CheckScheduler({ clock });
  const removers = Array.from(
    { length: 500 },
    () => s.add({ intervalMs: 1000, run: () => Promise.resolve() }),
  );
  strictEqual(clock.pending, 1);
  for (const remove of removers.slice(1)) remove();
  strictEqual(clock.pending, 1, "the last job still has its turn");
  removers[0]();
  strictEqual(clock.pending, 0);
  throws(() => new CheckScheduler({ clock, tickMs: -1 }), /tickMs/);
  throws(() => new CheckScheduler({ clock, tickMs: Infinity }), /tickMs/);
});
