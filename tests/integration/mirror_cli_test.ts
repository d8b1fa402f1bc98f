/**
 * `aurproxy run --mirror-*` as an operator runs it (main.ts with the permission flags of
 * `deno task run`) beside a real nginx, with the replay servers found in a real ZooKeeper
 * as Aurora announces them. A real process stands in for gor (`testing/fake_gor.sh`).
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { type AurproxyProcess, startAurproxy } from "../../testing/aurproxy_process.ts";
import { startBackend } from "../../testing/backend.ts";
import { FAKE_GOR_PATH, fakeGorStarts, isAlive } from "../../testing/fake_gor.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { oneRouteConfig, staticSource } from "../../testing/proxy_config.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const JOB = "/aurora/www-data/devel/gor_replay";

const outputs = (args: readonly string[]) => args.filter((_, i) => args[i - 1] === "--output-tcp");

Deno.test("run --mirror-*: ZooKeeper's replay servers reach gor's script; the supervised gor follows them; /quitquitquit stops it", async () => {
  const zk = await startZooKeeper();
  const backend = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-mirror-cli-" });
  const proxyPort = freePort();
  const mgmt = freePort();
  const config = JSON.stringify(oneRouteConfig({
    dir,
    port: proxyPort,
    defaultServer: true,
    sources: [staticSource("web", backend.port)],
  }));
  const script = `${dir}/gor/dynamic.sh`;
  const pidPath = `${dir}/mirror_pid`;
  const mirrorFlags = [
    `--mirror-source=${
      JSON.stringify({
        source_class: "tellapart.aurproxy.source.AuroraProxySource",
        zk_servers: zk.connectString,
        role: "www-data",
        environment: "devel",
        job: "gor_replay",
        // Without it the job's last members would be kept for the 60 s grace (issue 8 A4).
        use_previous_endpoints: false,
      })
    }`,
    "--mirror-ports=8080,8081",
    "--mirror-max-qps=100",
    "--mirror-max-update-frequency=0",
    `--mirror-pid-path=${pidPath}`,
    `--mirror-command-path=${script}`,
    `--gor-path=${FAKE_GOR_PATH}`,
  ];
  const ann = await zk.announcer();
  let proc: AurproxyProcess | undefined;
  let nginx: Awaited<ReturnType<typeof runNginx>> | undefined;
  try {
    const a = await ann.announce(JOB, { host: "127.0.0.1", port: 9100 });
    const setup = await runAurproxy([
      "run",
      "--setup",
      "--management-port=1",
      `--config=${config}`,
      ...mirrorFlags,
    ]);
    strictEqual(setup.code, 0, setup.stderr);
    strictEqual(
      await Deno.readTextFile(script),
      `#!/bin/bash\necho $$ > ${pidPath}\nexec ${FAKE_GOR_PATH} -output-http-stats -stats` +
        ' --input-raw :8080 --input-raw :8081 --output-tcp "127.0.0.1:9100|100"\n',
    );

    nginx = await runNginx(nginxOptions(dir), [proxyPort]);
    const p = proc = await startAurproxy(
      mgmt,
      [`--config=${config}`, ...mirrorFlags, "--mirror-supervise"],
      { env: { FAKE_GOR_DIR: dir }, startTimeoutMs: 30_000 },
    );
    strictEqual((await httpGet(proxyPort, "/")).body, "web");

    const first = await waitFor("gor started", async () => (await fakeGorStarts(dir))[0]);
    deepStrictEqual(first.args.slice(0, 6), [
      "-output-http-stats",
      "-stats",
      "--input-raw",
      ":8080",
      "--input-raw",
      ":8081",
    ]);
    deepStrictEqual(outputs(first.args), ["127.0.0.1:9100|100"]);

    // A replay server more: gor restarted with both.
    const b = await ann.announce(JOB, { host: "127.0.0.1", port: 9101 });
    const second = await waitFor("gor restarted", async () => (await fakeGorStarts(dir))[1]);
    deepStrictEqual(outputs(second.args), ["127.0.0.1:9100|100", "127.0.0.1:9101|100"]);
    strictEqual((await Deno.readTextFile(script)).includes('"127.0.0.1:9101|100"'), true);
    await waitFor("the first gor gone", () => !isAlive(first.pid));

    // One gone: gor restarted without it.
    await ann.remove(a);
    const third = await waitFor("gor restarted again", async () => (await fakeGorStarts(dir))[2]);
    deepStrictEqual(outputs(third.args), ["127.0.0.1:9101|100"]);

    // All gone: the placeholder script runs instead of gor.
    await ann.remove(b);
    await waitFor(
      "the placeholder script",
      async () => (await Deno.readTextFile(script)).includes("No mirror source endpoints found."),
    );
    await waitFor("the last gor gone", () => !isAlive(third.pid));
    await waitFor(
      "the placeholder's message",
      () => p.log().includes("gor.stdout: No mirror source endpoints found."),
    );
    strictEqual((await fakeGorStarts(dir)).length, 3);
    const placeholderPid = Number((await Deno.readTextFile(pidPath)).trim());
    strictEqual(isAlive(placeholderPid), true);
    strictEqual((await httpGet(mgmt, "/health")).body, "OK");
    const metrics = (await httpGet(mgmt, "/metrics")).body;
    strictEqual(metrics.includes("aurproxy_mirror_targets 0"), true, metrics);

    strictEqual((await httpGet(mgmt, "/quitquitquit", { method: "POST" })).body, "OK");
    const exit = await Promise.race([
      p.exited,
      new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
    ]);
    strictEqual(exit?.code, 0, `did not exit cleanly:\n${p.log()}`);
    strictEqual(p.log().includes("shutdown complete"), true, p.log());
    // aurproxy's own child went with it.
    strictEqual(isAlive(placeholderPid), false);
    // nginx keeps serving without aurproxy.
    strictEqual((await httpGet(proxyPort, "/")).body, "web");
  } finally {
    await proc?.stop();
    await nginx?.stop();
    await ann.close();
    await zk.destroy();
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
