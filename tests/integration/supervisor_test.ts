/**
 * The process supervisor against real child processes (bash, sleep): stop signals and
 * deadlines, restarts with backoff, output forwarding, no orphans. Where the backoff
 * schedule is asserted, a fake clock drives the timers so the test is exact; the
 * children, their signals and their output are real.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { type ChildExit, Supervisor, type SupervisorEvent } from "../../lib/process/supervisor.ts";
import type { SupervisorOptions } from "../../lib/process/options.ts";
import { TRUNCATED_MARK } from "../../lib/process/lines.ts";
import { memoryLogger } from "../../lib/log.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { waitFor } from "../../testing/ports.ts";

/** True while `pid` exists and is not a zombie (an exited child nobody reaped yet). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

type Opts = Partial<SupervisorOptions> & Pick<SupervisorOptions, "argv">;

function supervise(opts: Opts) {
  const log = memoryLogger();
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({ name: "child", logger: log, ...opts });
  sup.subscribe((e) => events.push(e));
  const exits = () => events.flatMap((e) => e.kind === "exited" ? [e.exit] : []) as ChildExit[];
  const starts = () => events.filter((e) => e.kind === "started");
  /** Resolves with the next exit reported from now on. */
  const nextExit = () =>
    new Promise<ChildExit>((resolve) => {
      const off = sup.subscribe((e) => {
        if (e.kind === "exited") {
          off();
          resolve(e.exit);
        }
      });
    });
  const logged = (text: string) => log.lines.some((l) => l.includes(text));
  return { sup, log, events, exits, starts, nextExit, logged };
}

const bash = (script: string) => ["bash", "-c", script];

/** `promise`, or a failure after `ms`: a regression here would otherwise hang the suite. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("supervisor: starts a child, reports it running, stops it with SIGTERM and leaves no process", async () => {
  const { sup, exits, logged } = supervise({ argv: ["sleep", "1000"], startingMs: 500 });
  sup.start();
  const pid = sup.status().pid!;
  ok(alive(pid));
  strictEqual(sup.status().state, "starting");
  await waitFor("running state", () => sup.status().state === "running");
  strictEqual(sup.status().pid, pid);

  const exit = await sup.stop();
  strictEqual(exit?.pid, pid);
  strictEqual(exit?.signal, "SIGTERM");
  strictEqual(exit?.requested, true);
  strictEqual(exit?.restartInMs, undefined);
  ok(!alive(pid));
  deepStrictEqual(sup.status().state, "stopped");
  strictEqual(sup.status().pid, undefined);
  strictEqual(exits().length, 1);
  ok(logged(`child: started pid ${pid}: sleep 1000`));
  ok(logged(`child: pid ${pid} was killed by SIGTERM`));
  strictEqual(await sup.stop(), undefined, "stopping a stopped supervisor is a no-op");
});

Deno.test("supervisor: a graceful stop uses the configured signal and lets the child finish", async () => {
  const { sup, logged } = supervise({
    // `wait` returns at once when a trapped signal arrives, unlike a foreground sleep.
    argv: bash(`trap 'echo draining >&2; sleep 0.2; exit 7' QUIT; echo ready >&2;
      sleep 1000 & wait`),
    stopSignal: "SIGQUIT",
    stopTimeoutMs: 10_000,
  });
  sup.start();
  await waitFor("ready", () => logged("child.stderr: ready"));
  const t0 = performance.now();
  const stopping = sup.stop();
  strictEqual(sup.status().state, "stopping");
  const exit = await stopping;
  const took = performance.now() - t0;
  strictEqual(exit?.code, 7, "the child's own exit code, not a kill");
  strictEqual(exit?.signal, null);
  ok(took >= 150 && took < 5_000, `graceful stop took ${took} ms`);
  ok(logged("child.stderr: draining"));
  ok(logged("with SIGQUIT"));
  ok(!logged("SIGKILL"));
});

Deno.test("supervisor: a child that ignores the stop signal is killed after the deadline", async () => {
  const { sup, logged } = supervise({
    argv: bash(`trap '' TERM; echo ready >&2; while :; do sleep 0.05; done`),
    stopTimeoutMs: 300,
  });
  sup.start();
  await waitFor("ready", () => logged("child.stderr: ready"));
  const pid = sup.status().pid!;
  const t0 = performance.now();
  const exit = await sup.stop();
  const took = performance.now() - t0;
  strictEqual(exit?.signal, "SIGKILL");
  ok(took >= 290, `killed after ${took} ms, before the 300 ms deadline`);
  ok(took < 3_000, `killed only after ${took} ms`);
  ok(logged(`pid ${pid} still running 300 ms after SIGTERM; SIGKILL`));
  ok(!alive(pid));
});

Deno.test("supervisor: a crashing child is restarted with exponential backoff, capped", async () => {
  const clock = new FakeClock();
  const { sup, exits, starts, nextExit, logged } = supervise({
    argv: bash(`echo "crashing" >&2; exit 3`),
    clock,
    backoff: { initialMs: 100, factor: 2, maxMs: 300, resetAfterMs: 10_000 },
  });
  let exited = nextExit();
  sup.start();
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const exit = await exited;
    strictEqual(exit.code, 3);
    strictEqual(exit.requested, false);
    delays.push(exit.restartInMs!);
    strictEqual(sup.status().state, "backing_off");
    strictEqual(sup.status().nextStartAt, clock.now() + exit.restartInMs!);
    // Not a moment early…
    await clock.advance(exit.restartInMs! - 1);
    strictEqual(starts().length, i + 1);
    exited = nextExit();
    // …and on time.
    await clock.advance(1);
    strictEqual(starts().length, i + 2);
  }
  deepStrictEqual(delays, [100, 200, 300, 300]);
  await exited;
  strictEqual(sup.status().restarts, 4);
  strictEqual(sup.status().failures, 5);
  strictEqual(sup.status().lastExit?.code, 3);
  ok(logged("exited with code 3 after 0 s; restarting in 0.1 s"));
  ok(logged("child.stderr: crashing"));
  strictEqual(exits().length, 5);
  await sup.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("supervisor: a child that stayed up long enough restarts after the initial delay again", async () => {
  const clock = new FakeClock();
  const { sup, nextExit } = supervise({
    argv: ["sleep", "1000"],
    clock,
    backoff: { initialMs: 100, factor: 2, maxMs: 10_000, resetAfterMs: 5_000 },
  });
  sup.start();
  for (const expected of [100, 200]) {
    const exit = nextExit();
    Deno.kill(sup.status().pid!, "SIGKILL"); // a crash, seen from the supervisor
    strictEqual((await exit).restartInMs, expected);
    await clock.advance(expected);
  }
  // This one runs for a while before it dies: the schedule starts over.
  await clock.advance(5_000);
  strictEqual(sup.status().state, "running");
  const exit = nextExit();
  Deno.kill(sup.status().pid!, "SIGKILL");
  strictEqual((await exit).restartInMs, 100);
  strictEqual((await exit).uptimeMs, 5_000);
  strictEqual(sup.status().failures, 1);
  await sup.stop();
});

Deno.test("supervisor: a stopped child is not restarted", async () => {
  const { sup, starts } = supervise({
    argv: ["sleep", "1000"],
    backoff: { initialMs: 20 },
  });
  sup.start();
  await sup.stop();
  await new Promise((r) => setTimeout(r, 200));
  strictEqual(starts().length, 1);
  strictEqual(sup.status().state, "stopped");
});

Deno.test("supervisor: stopping while backing off cancels the restart", async () => {
  const clock = new FakeClock();
  const { sup, starts, nextExit } = supervise({ argv: bash("exit 1"), clock });
  const exited = nextExit();
  sup.start();
  await exited;
  strictEqual(sup.status().state, "backing_off");
  strictEqual(await sup.stop(), undefined, "no child was running");
  strictEqual(sup.status().state, "stopped");
  strictEqual(clock.pending, 0, "the restart timer is gone");
  await clock.advance(600_000);
  strictEqual(starts().length, 1);
});

Deno.test("supervisor: a binary that cannot be started is reported and retried with backoff", async () => {
  const clock = new FakeClock();
  const { sup, exits, starts, logged } = supervise({
    argv: ["/nonexistent/aurproxy-no-such-binary", "--flag"],
    clock,
    backoff: { initialMs: 100, factor: 2 },
  });
  sup.start();
  strictEqual(exits().length, 1, "the failed start is reported at once");
  const first = exits()[0];
  strictEqual(first.pid, undefined);
  ok(first.error?.includes("No such file or directory"), first.error);
  strictEqual(first.restartInMs, 100);
  strictEqual(sup.status().state, "backing_off");
  ok(logged("child: could not be started: "));
  await clock.advance(100);
  strictEqual(exits().length, 2);
  strictEqual(exits()[1].restartInMs, 200);
  strictEqual(starts().length, 0);
  await sup.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("supervisor: the child's stderr (and stdout when asked) reaches the log line by line, bounded, while it writes", async () => {
  const { sup, log, nextExit } = supervise({
    // 20,000 lines (~230 kB) overflow a pipe many times over: the child only exits if
    // the supervisor keeps reading while it writes.
    argv: bash(`echo "to stdout"; printf 'partial\\r\\n' >&2;
      printf 'x%.0s' {1..300} >&2; echo >&2;
      for i in $(seq 1 20000); do echo "line $i" >&2; done; printf 'no newline' >&2`),
    stdout: "log",
    maxLineBytes: 100,
    backoff: { initialMs: 60_000 },
  });
  const exited = nextExit();
  sup.start();
  const exit = await within(20_000, "the writing child's exit", exited);
  strictEqual(exit.code, 0);
  const lines = log.lines.map((l) => l.slice(l.indexOf(" ") + 1));
  ok(lines.includes("INFO child.stdout: to stdout"));
  ok(lines.includes("INFO child.stderr: partial"), "\\r\\n ends a line");
  const long = lines.find((l) => l.startsWith("INFO child.stderr: xx"));
  strictEqual(long, `INFO child.stderr: ${"x".repeat(100)}${TRUNCATED_MARK}`);
  const numbered = lines.filter((l) => l.startsWith("INFO child.stderr: line "));
  strictEqual(numbered.length, 20_000);
  strictEqual(numbered.at(-1), "INFO child.stderr: line 20000");
  // Every line is logged before the exit that followed it.
  const exitAt = lines.findIndex((l) => l.includes("exited with code 0"));
  ok(exitAt > lines.indexOf("INFO child.stderr: no newline"));
  await sup.stop();
});

Deno.test("supervisor: no process of the child's group survives, neither a stop nor a crash", async () => {
  const { sup, log, nextExit } = supervise({
    argv: bash(`sleep 1000 & echo "bg $!" >&2; sleep 1000 & wait`),
    backoff: { initialMs: 50 },
  });
  const bgPids = () =>
    log.lines.flatMap((l) => {
      const m = l.match(/child\.stderr: bg (\d+)$/);
      return m ? [Number(m[1])] : [];
    });
  sup.start();
  await waitFor("first background job", () => bgPids().length === 1);
  // A crash of the shell alone: its background job must not outlive it.
  const crashed = nextExit();
  Deno.kill(sup.status().pid!, "SIGKILL");
  await crashed;
  // SIGKILL is delivered asynchronously: on a loaded machine the job can take a moment to go.
  await waitFor("the crashed child's background job killed", () => !alive(bgPids()[0]), 2_000);
  await waitFor("restarted background job", () => bgPids().length === 2);
  const pid = sup.status().pid!;
  await sup.stop();
  ok(!alive(pid));
  await waitFor("the stopped child's background job killed", () => !alive(bgPids()[1]), 2_000);
});

Deno.test("supervisor: a signal reaches the running child without restarting it (nginx reload)", async () => {
  const { sup, logged, starts } = supervise({
    argv: bash(`trap 'echo reloaded >&2' HUP; echo ready >&2; while :; do sleep 1000 & wait; done`),
  });
  strictEqual(sup.signal("SIGHUP"), false, "nothing to signal before start");
  sup.start();
  await waitFor("ready", () => logged("child.stderr: ready"));
  const pid = sup.status().pid;
  ok(sup.signal("SIGHUP"));
  await waitFor("reload", () => logged("child.stderr: reloaded"));
  strictEqual(sup.status().pid, pid);
  strictEqual(starts().length, 1);
  await sup.stop();
  strictEqual(sup.signal("SIGHUP"), false, "nothing to signal after stop");
});

Deno.test("supervisor: restart with a new command line replaces the child at once (gor on a change)", async () => {
  const { sup, logged, exits } = supervise({
    argv: bash(`echo "v1 ready" >&2; sleep 1000 & wait`),
    backoff: { initialMs: 60_000 },
  });
  sup.start();
  await waitFor("v1", () => logged("child.stderr: v1 ready"));
  const oldPid = sup.status().pid!;
  await sup.restart({ argv: bash(`echo "v2 ready" >&2; sleep 1000 & wait`) });
  const newPid = sup.status().pid!;
  ok(newPid !== oldPid);
  ok(!alive(oldPid));
  deepStrictEqual(sup.status().argv.slice(0, 2), ["bash", "-c"]);
  ok(sup.status().argv[2].includes("v2"));
  await waitFor("v2", () => logged("child.stderr: v2 ready"));
  strictEqual(exits().length, 1);
  strictEqual(exits()[0].requested, true, "a restart asked for is not a failure");
  strictEqual(sup.status().restarts, 0);
  strictEqual(sup.status().failures, 0);
  await sup.stop();
  ok(!alive(newPid));
});

Deno.test("supervisor: a grandchild that left the group and holds the pipe does not delay the exit report", async () => {
  const { sup, log, nextExit, logged } = supervise({
    // `setsid` puts the sleep in a session of its own, out of reach of the group kill,
    // still holding the child's stderr.
    argv: bash(`setsid sleep 1000 & echo "escaped $!" >&2; sleep 0.1; exit 4`),
    drainTimeoutMs: 200,
    backoff: { initialMs: 60_000 },
  });
  const exited = nextExit();
  sup.start();
  let escaped: number | undefined;
  try {
    const exit = await within(10_000, "exit report", exited);
    escaped = Number(log.lines.join("\n").match(/escaped (\d+)/)?.[1]);
    strictEqual(exit.code, 4);
    ok(logged("output still open after exit; no longer read"));
  } finally {
    if (escaped) Deno.kill(escaped, "SIGKILL");
    await sup.stop();
  }
});
