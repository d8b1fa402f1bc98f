/**
 * Traffic mirroring against real processes: gor cannot be installed here, so a real child
 * process stands in for it (`testing/fake_gor.sh`: it records its argv and stays up). The
 * script is run by bash as Thermos would run it, or by aurproxy's own supervisor.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import {
  FALLBACK_ARGV,
  gorArgv,
  type GorScriptSpec,
  mirrorCommand,
} from "../../lib/mirror/gor_script.ts";
import { MirrorUpdater } from "../../lib/mirror/mirror_updater.ts";
import { PidFileRestarter } from "../../lib/mirror/pid_file_restarter.ts";
import { linuxProcessTable } from "../../lib/mirror/process_table.ts";
import { writeScriptAtomically } from "../../lib/mirror/script_writer.ts";
import { SupervisedRunner } from "../../lib/mirror/supervised_runner.ts";
import { Supervisor } from "../../lib/process/supervisor.ts";
import { FAKE_GOR_PATH, fakeGorStarts, isAlive } from "../../testing/fake_gor.ts";
import { MutableSource } from "../../testing/mutable_source.ts";
import { waitFor } from "../../testing/ports.ts";

async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-mirror-" });
  return {
    dir,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function spec(dir: string, mode: "mirror" | "replay" = "mirror"): GorScriptSpec {
  return { mode, gorPath: FAKE_GOR_PATH, pidPath: `${dir}/mirror_pid`, ports: [8080], maxQps: 50 };
}

const targetsOf = (args: readonly string[]) =>
  args.filter((_, i) => args[i - 1] === "--output-tcp");

async function pidFromFile(path: string): Promise<number> {
  return Number((await Deno.readTextFile(path)).trim());
}

/** Pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

async function cmdline(pid: number): Promise<readonly string[] | undefined> {
  return (await linuxProcessTable.inspect(pid))?.argv;
}

Deno.test("script writer: mode 755, atomic, no temporary file left, unchanged text untouched", async () => {
  await using t = await tempDir();
  const path = `${t.dir}/gor/dynamic.sh`;
  const prevUmask = Deno.umask(0o077);
  try {
    strictEqual(await writeScriptAtomically(path, "#!/bin/bash\necho one\n"), "written");
  } finally {
    Deno.umask(prevUmask);
  }
  strictEqual((await Deno.stat(path)).mode! & 0o777, 0o755);
  const ino = (await Deno.stat(path)).ino;
  strictEqual(await writeScriptAtomically(path, "#!/bin/bash\necho one\n"), "unchanged");
  strictEqual((await Deno.stat(path)).ino, ino);
  strictEqual(await writeScriptAtomically(path, "#!/bin/bash\necho two\n"), "written");
  // A new file replaced the old one (a running bash keeps reading its own, old file).
  strictEqual((await Deno.stat(path)).ino !== ino, true);
  strictEqual(await Deno.readTextFile(path), "#!/bin/bash\necho two\n");
  deepStrictEqual([...Deno.readDirSync(`${t.dir}/gor`)].map((e) => e.name), ["dynamic.sh"]);

  // A rename that fails (the target is a non-empty directory) leaves no temporary file.
  const blocked = `${t.dir}/blocked`;
  await Deno.mkdir(`${blocked}/dynamic.sh/x`, { recursive: true });
  await rejects(writeScriptAtomically(`${blocked}/dynamic.sh`, "#!/bin/bash\n"));
  deepStrictEqual([...Deno.readDirSync(blocked)].map((e) => e.name), ["dynamic.sh"]);
});

Deno.test("gor script: hostile hosts reach gor as literal text and run nothing", async () => {
  await using t = await tempDir();
  const hosts = [
    `$(touch ${t.dir}/pwned1)`,
    `\`touch ${t.dir}/pwned2\``,
    `"; touch ${t.dir}/pwned3; "`,
    `'; touch ${t.dir}/pwned4; '`,
    `x\ntouch ${t.dir}/pwned5`,
    "${PATH}",
    "*",
  ];
  const targets = hosts.map((host) => ({ host, port: 80 }));
  const s = spec(t.dir);
  const path = `${t.dir}/dynamic.sh`;
  await writeScriptAtomically(path, mirrorCommand(s, targets).script);
  const child = new Deno.Command(path, {
    env: { FAKE_GOR_DIR: t.dir },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const start = await waitFor(
      "the stand-in gor to start",
      async () => (await fakeGorStarts(t.dir))[0],
    );
    deepStrictEqual(start.args, gorArgv(s, targets).slice(1));
    strictEqual(start.pid, await pidFromFile(s.pidPath));
    const left = [...Deno.readDirSync(t.dir)].map((e) => e.name).filter((n) => n.startsWith("pwn"));
    deepStrictEqual(left, []);
  } finally {
    child.kill("SIGTERM");
    await child.output();
  }
});

Deno.test("mirror (Thermos way): gor restarted on each change with the new argv, placeholder when targets go, an unrelated pid untouched", async () => {
  await using t = await tempDir();
  const s = spec(t.dir);
  const commandPath = `${t.dir}/dynamic.sh`;
  const log = memoryLogger();
  const source = new MutableSource("mirror", [9000]);
  const restarter = new PidFileRestarter({
    pidPath: s.pidPath,
    gorPath: s.gorPath,
    commandPath,
    logger: log,
    clock: systemClock,
  });
  const updater = new MirrorUpdater({
    spec: s,
    commandPath,
    minIntervalMs: 0,
    targets: source,
    runner: restarter,
    clock: systemClock,
    logger: log,
  });
  // Thermos's gor_process: runs the script again whenever it exits (max_failures=0).
  const thermos = new Supervisor({
    name: "thermos",
    argv: ["/bin/bash", "-c", 'while :; do "$0"; sleep 0.1; done', commandPath],
    env: { FAKE_GOR_DIR: t.dir },
    logger: log,
    stdout: "ignore",
  });
  const unrelated = new Deno.Command("sleep", { args: ["60"] }).spawn();
  try {
    await updater.setup();
    thermos.start();
    const first = await waitFor("gor to start", async () => (await fakeGorStarts(t.dir))[0]);
    deepStrictEqual(targetsOf(first.args), ["127.0.0.1:9000|50"]);

    // aurproxy starts with nothing changed since --setup: the running gor is left alone.
    await updater.start();
    strictEqual((await fakeGorStarts(t.dir)).length, 1);
    strictEqual(isAlive(first.pid), true);

    // Each change: the old gor ends, the new one runs the new targets.
    source.setPorts([9001, 9002]);
    const second = await waitFor("gor restarted", async () => (await fakeGorStarts(t.dir))[1]);
    deepStrictEqual(targetsOf(second.args), ["127.0.0.1:9001|50", "127.0.0.1:9002|50"]);
    await waitFor("the first gor to be gone", () => !isAlive(first.pid));
    source.setPorts([9003]);
    const third = await waitFor("gor restarted again", async () => (await fakeGorStarts(t.dir))[2]);
    deepStrictEqual(targetsOf(third.args), ["127.0.0.1:9003|50"]);
    await waitFor("the second gor to be gone", () => !isAlive(second.pid));

    // No targets: the placeholder replaces gor.
    source.setPorts([]);
    await waitFor("the third gor to be gone", () => !isAlive(third.pid));
    const fallbackPid = await waitFor("the placeholder to run", async () => {
      const pid = await pidFromFile(s.pidPath);
      const argv = await cmdline(pid);
      const isFallback = argv?.length === FALLBACK_ARGV.length &&
        argv.every((a, i) => a === FALLBACK_ARGV[i]);
      return isFallback ? pid : undefined;
    });
    // Targets back: the placeholder ends, gor runs again.
    source.setPorts([9004]);
    const fourth = await waitFor("gor back", async () => (await fakeGorStarts(t.dir))[3]);
    deepStrictEqual(targetsOf(fourth.args), ["127.0.0.1:9004|50"]);
    await waitFor("the placeholder to be gone", () => !isAlive(fallbackPid));

    // A pid file naming something else: never signalled, whatever the script says.
    await updater.stop();
    await Deno.writeTextFile(s.pidPath, `${unrelated.pid}\n`);
    const outcome = await restarter.apply(mirrorCommand(s, [{ host: "10.9.9.9", port: 1 }]));
    strictEqual(outcome.kind, "foreign");
    await new Promise((r) => setTimeout(r, 300));
    strictEqual(isAlive(unrelated.pid), true);
    strictEqual(isAlive(fourth.pid), true);
    strictEqual(
      log.lines.some((l) => l.includes(`pid ${unrelated.pid}`) && l.includes("left alone")),
      true,
    );
  } finally {
    await updater.stop();
    await thermos.stop();
    unrelated.kill("SIGKILL");
    await unrelated.status;
  }
});

Deno.test("mirror (supervised): aurproxy runs the script itself, restarts it on each change, stops it with its group", async () => {
  await using t = await tempDir();
  const s = spec(t.dir, "replay");
  const commandPath = `${t.dir}/dynamic.sh`;
  const log = memoryLogger();
  const source = new MutableSource("replay", [9000]);
  Deno.env.set("FAKE_GOR_DIR", t.dir);
  const runner = new SupervisedRunner({ commandPath, logger: log });
  const updater = new MirrorUpdater({
    spec: s,
    commandPath,
    minIntervalMs: 0,
    targets: source,
    runner,
    clock: systemClock,
    logger: log,
  });
  const httpTargets = (args: readonly string[]) =>
    args.filter((_, i) => args[i - 1] === "--output-http");
  try {
    await updater.start();
    const first = await waitFor("gor to start", async () => (await fakeGorStarts(t.dir))[0]);
    deepStrictEqual(first.args.slice(0, 4), [
      "-output-http-stats",
      "-stats",
      "--input-tcp",
      "0.0.0.0:8080",
    ]);
    deepStrictEqual(httpTargets(first.args), ["127.0.0.1:9000|50"]);
    strictEqual(runner.status().pid, first.pid);

    source.setPorts([9001]);
    const second = await waitFor("gor restarted", async () => (await fakeGorStarts(t.dir))[1]);
    deepStrictEqual(httpTargets(second.args), ["127.0.0.1:9001|50"]);
    strictEqual(isAlive(first.pid), false);

    source.setPorts([]);
    await waitFor("the placeholder to run as the child", async () => {
      const pid = runner.status().pid;
      const argv = pid === undefined ? undefined : await cmdline(pid);
      return argv?.at(-1) === FALLBACK_ARGV.at(-1) && pid !== second.pid;
    });
    strictEqual(isAlive(second.pid), false);
    await waitFor(
      "the placeholder's message in the log",
      () => log.lines.some((l) => l.includes("gor.stdout: No mirror source endpoints found.")),
    );

    source.setPorts([9002]);
    const third = await waitFor("gor back", async () => (await fakeGorStarts(t.dir))[2]);
    deepStrictEqual(httpTargets(third.args), ["127.0.0.1:9002|50"]);
    // The same targets again: no restart.
    source.setPorts([9002]);
    await updater.idle();
    await new Promise((r) => setTimeout(r, 300));
    strictEqual((await fakeGorStarts(t.dir)).length, 3);
    strictEqual(log.lines.some((l) => l.includes("fake gor") && l.includes("started")), true);

    const grandchildren = childrenOf(third.pid);
    strictEqual(grandchildren.length, 1); // its `sleep`
    await updater.stop();
    await runner.stop();
    strictEqual(isAlive(third.pid), false);
    strictEqual(grandchildren.some(isAlive), false);
    strictEqual(runner.status().state, "stopped");
  } finally {
    await updater.stop();
    await runner.stop();
    Deno.env.delete("FAKE_GOR_DIR");
  }
});
