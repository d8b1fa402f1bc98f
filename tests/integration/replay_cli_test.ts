/**
 * `aurproxy run_replay` as an operator runs it: a subprocess of main.ts with exactly the
 * permission flags of `deno task run`, a static replay source, and a real process
 * standing in for gor (`testing/fake_gor.sh`, since gor cannot be installed here).
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { FAKE_GOR_PATH, fakeGorStarts, isAlive } from "../../testing/fake_gor.ts";
import { httpGet } from "../../testing/http.ts";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { spawnAurproxy } from "../../testing/aurproxy_process.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";

function aurproxy(env: Record<string, string>, ...args: string[]) {
  return runAurproxy(args, { env });
}

const STATIC = (port: number) =>
  JSON.stringify({
    source_class: "tellapart.aurproxy.source.StaticProxySource",
    name: "replay-target",
    host: "127.0.0.1",
    port,
  });

async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-replay-cli-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** A stand-in gor started by hand, as an earlier script would have. */
function oldGor(dir: string) {
  return new Deno.Command(FAKE_GOR_PATH, {
    args: ["-output-http-stats", "-stats", "--input-tcp", "0.0.0.0:1", "--output-http", "old:1|5"],
    env: { FAKE_GOR_DIR: dir },
    stdout: "null",
  }).spawn();
}

Deno.test("run_replay: usage errors exit 2 naming each flag", async () => {
  const none = await aurproxy({}, "run_replay", "--management-port=1");
  strictEqual(none.code, 2);
  deepStrictEqual(none.stderr.trim().split("\n"), [
    "aurproxy run_replay: --replay-source: required: the source to replay to (JSON)",
    "aurproxy run_replay: --replay-port: required: comma-separated ports",
    "aurproxy run_replay: --replay-max-qps: required: requests per second, an integer >= 1",
  ]);
  const dashed = await aurproxy({}, "run-replay", "--replay_port=x");
  strictEqual(dashed.code, 2);
  strictEqual(dashed.stderr.startsWith("aurproxy run-replay: --management-port: expected"), true);
  const mirror = await aurproxy(
    {},
    "run",
    "--management-port=1",
    "--config={}",
    '--mirror-source={"source_class":"static"}',
  );
  strictEqual(mirror.code, 2);
  strictEqual(
    mirror.stderr.includes("aurproxy run: --mirror-source.name: required, a string"),
    true,
    mirror.stderr,
  );
  strictEqual(mirror.stderr.includes("aurproxy run: --mirror-ports: required"), true);
  const help = await aurproxy({}, "run_replay", "--help");
  strictEqual(help.code, 0);
  strictEqual(help.stdout.includes("--replay-supervise"), true);
});

Deno.test("run_replay --setup: writes the original's script, mode 755, and ends nothing", async () => {
  await using t = await tempDir();
  const script = `${t.dir}/gor/dynamic.sh`;
  const pidPath = `${t.dir}/mirror_pid`;
  const running = oldGor(t.dir);
  try {
    await Deno.writeTextFile(pidPath, `${running.pid}\n`);
    const r = await aurproxy(
      {},
      "run_replay",
      "--setup",
      "--management-port=1",
      "--replay-port=12346",
      `--replay-source=${STATIC(8081)}`,
      "--replay-max-qps=1000",
      `--replay-pid-path=${pidPath}`,
      `--replay-command-path=${script}`,
    );
    strictEqual(r.code, 0, r.stderr);
    strictEqual(
      await Deno.readTextFile(script),
      `#!/bin/bash\necho $$ > ${pidPath}\n` +
        "exec /opt/go/bin/gor -output-http-stats -stats --input-tcp 0.0.0.0:12346" +
        ' --output-http "127.0.0.1:8081|1000"\n',
    );
    strictEqual((await Deno.stat(script)).mode! & 0o777, 0o755);
    deepStrictEqual([...Deno.readDirSync(`${t.dir}/gor`)].map((e) => e.name), ["dynamic.sh"]);
    await new Promise((r) => setTimeout(r, 200));
    strictEqual(isAlive(running.pid), true, "--setup must not end the running gor");
  } finally {
    running.kill("SIGTERM");
    await running.status;
  }
});

Deno.test("run_replay: keeps the script, ends the stale gor in the pid file, serves health and metrics; /quitquitquit exits 0", async () => {
  await using t = await tempDir();
  const script = `${t.dir}/dynamic.sh`;
  const pidPath = `${t.dir}/mirror_pid`;
  const mgmt = freePort();
  const stale = oldGor(t.dir);
  await Deno.writeTextFile(pidPath, `${stale.pid}\n`);
  const proc = await spawnAurproxy([
    "run_replay",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    "--replay-port=12346",
    `--replay-source=${STATIC(8082)}`,
    "--replay-max-qps=50",
    `--replay-pid-path=${pidPath}`,
    `--replay-command-path=${script}`,
    `--gor-path=${FAKE_GOR_PATH}`,
  ]);
  try {
    await waitForPort(mgmt, 30_000);
    strictEqual(
      await Deno.readTextFile(script),
      `#!/bin/bash\necho $$ > ${pidPath}\nexec ${FAKE_GOR_PATH} -output-http-stats -stats` +
        ' --input-tcp 0.0.0.0:12346 --output-http "127.0.0.1:8082|50"\n',
    );
    // The gor in the pid file ran an older script: it was ended for Thermos to restart.
    await waitFor("the stale gor to be ended", () => !isAlive(stale.pid));
    const health = await httpGet(mgmt, "/health");
    strictEqual(health.status, 200);
    strictEqual(health.body, "OK");
    const metrics = (await httpGet(mgmt, "/metrics")).body;
    strictEqual(metrics.includes("aurproxy_mirror_targets 1"), true, metrics);
    strictEqual(metrics.includes('aurproxy_mirror_updates_total{result="ok"} 1'), true, metrics);
    strictEqual((await httpGet(mgmt, "/status.json")).status, 503);
    strictEqual((await httpGet(mgmt, "/quitquitquit", { method: "POST" })).body, "OK");
    const exit = await Promise.race([
      proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
    ]);
    strictEqual(exit?.code, 0, `did not exit cleanly:\n${proc.log()}`);
    strictEqual(proc.log().includes("shutdown complete"), true, proc.log());
  } finally {
    await proc.stop();
    try {
      stale.kill("SIGKILL");
    } catch {
      // Ended by aurproxy, as it should be.
    }
    await stale.status;
  }
});

Deno.test("run_replay --replay-supervise: runs the stand-in gor itself with the replay argv; SIGTERM stops both, exit 0", async () => {
  await using t = await tempDir();
  const mgmt = freePort();
  const proc = await spawnAurproxy([
    "run-replay",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    "--replay-port=12346,12347",
    `--replay-source=${STATIC(8083)}`,
    "--replay-max-qps=7",
    `--replay-pid-path=${t.dir}/mirror_pid`,
    `--mirror-command-path=${t.dir}/dynamic.sh`,
    `--gor-path=${FAKE_GOR_PATH}`,
    "--replay-supervise",
  ], { env: { FAKE_GOR_DIR: t.dir } });
  try {
    await waitForPort(mgmt, 30_000);
    const gor = await waitFor("gor started", async () => (await fakeGorStarts(t.dir))[0]);
    deepStrictEqual(gor.args, [
      "-output-http-stats",
      "-stats",
      "--input-tcp",
      "0.0.0.0:12346",
      "--input-tcp",
      "0.0.0.0:12347",
      "--output-http",
      "127.0.0.1:8083|7",
    ]);
    await waitFor(
      "gor's output in aurproxy's log",
      () => proc.log().includes("gor.stdout: fake gor"),
    );
    strictEqual((await httpGet(mgmt, "/health")).body, "OK");
    proc.kill("SIGTERM");
    const exit = await Promise.race([
      proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
    ]);
    strictEqual(exit?.code, 0, `did not exit cleanly:\n${proc.log()}`);
    strictEqual(isAlive(gor.pid), false);
  } finally {
    await proc.stop();
  }
});

/** The seed's `--replay-source`, as its README writes it. */
const SEED_SOURCE = '{"name": "replay", "source_class": "tellapart.aurproxy.source.ApiSource"}';

Deno.test("run_replay: the seed's example as written (a free port, paths in a temp dir): the ApiSource's routes on the management port drive gor's script", async () => {
  await using t = await tempDir();
  const script = `${t.dir}/dynamic.sh`;
  const pidPath = `${t.dir}/mirror_pid`;
  const mgmt = freePort();
  const proc = await spawnAurproxy([
    "run_replay",
    "--management-port",
    String(mgmt),
    "--replay-port",
    "12346",
    "--replay-source",
    SEED_SOURCE,
    "--replay-max-qps",
    "1000",
    // Beside the example: where to write, and no 15 s wait between two scripts.
    `--replay-command-path=${script}`,
    `--replay-pid-path=${pidPath}`,
    "--replay-max-update-frequency=0.2",
    `--state-file=${t.dir}/state.json`,
  ]);
  const api = `http://127.0.0.1:${mgmt}/api/source/replay`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const target = {
    source_class: "tellapart.aurproxy.source.StaticProxySource",
    name: "replay-target",
    host: "127.0.0.1",
    port: 8081,
  };
  try {
    await waitForPort(mgmt, 30_000);
    const placeholder = "No mirror source endpoints found.";
    strictEqual((await Deno.readTextFile(script)).includes(placeholder), true);
    deepStrictEqual(await call("GET", "/sources"), { status: 200, body: { sources: [] } });
    deepStrictEqual(await call("PUT", "/source/target/", { source: target }), {
      status: 201,
      body: target,
    });
    await waitFor(
      "gor's script to replay to the target",
      async () =>
        (await Deno.readTextFile(script)).endsWith(
          ' --input-tcp 0.0.0.0:12346 --output-http "127.0.0.1:8081|1000"\n',
        ),
    );
    deepStrictEqual(await call("GET", "/source/target"), {
      status: 200,
      body: { source: target, expiration: null },
    });
    const status = JSON.parse((await httpGet(mgmt, "/status.json")).body);
    deepStrictEqual(status.apiSources.map((a: { name: string }) => a.name), ["replay"]);
    deepStrictEqual(status.apiSources[0].sources[0].endpoints, ["127.0.0.1:8081"]);
    strictEqual((await call("DELETE", "/source/target/")).status, 204);
    await waitFor(
      "the placeholder again",
      async () => (await Deno.readTextFile(script)).includes(placeholder),
    );
    deepStrictEqual(await call("DELETE", "/source/target/"), {
      status: 404,
      body: { message: "Source target doesn't exist" },
    });
    // Kept for the next start: run_replay --setup with the same state file writes it.
    strictEqual((await call("PUT", "/source/target/", { source: target })).status, 201);
    strictEqual((await httpGet(mgmt, "/quitquitquit", { method: "POST" })).body, "OK");
    const exit = await Promise.race([
      proc.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
    ]);
    strictEqual(exit?.code, 0, `did not exit cleanly:\n${proc.log()}`);
    strictEqual(proc.log().includes('PUT "target" from 127.0.0.1:'), true, proc.log());
    await Deno.remove(script);
    const setup = await aurproxy(
      {},
      "run_replay",
      "--setup",
      "--management-port=1",
      "--replay-port=12346",
      `--replay-source=${SEED_SOURCE}`,
      "--replay-max-qps=1000",
      `--replay-command-path=${script}`,
      `--replay-pid-path=${pidPath}`,
      `--state-file=${t.dir}/state.json`,
    );
    strictEqual(setup.code, 0, setup.stderr);
    strictEqual(
      (await Deno.readTextFile(script)).endsWith('--output-http "127.0.0.1:8081|1000"\n'),
      true,
    );
  } finally {
    await proc.stop();
  }
});
