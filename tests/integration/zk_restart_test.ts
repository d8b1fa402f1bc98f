// Issue 8, A3: missing knowledge never empties a live upstream. aurproxy restarted while
// ZooKeeper is down, with no state file or a truncated one, keeps the endpoints the live
// nginx config has until its sources are read; a state file is kept by default beside
// `configuration_file`; a corrupt one is reported and ignored. Real ZooKeeper, real nginx,
// aurproxy as the CLI process, continuous traffic.
import { strictEqual } from "node:assert";
import { serverSetMemberJson } from "../../lib/zk/announcer.ts";
import { nginxKeys } from "../../testing/aurproxy_stack.ts";
import { runAurproxy, startAurproxy } from "../../testing/aurproxy_process.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startTraffic, type TrafficRecord } from "../../testing/traffic.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const JOB = "/aurora/www-data/prod/web";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summary = (records: readonly TrafficRecord<number>[]) => {
  const by = new Map<string, number>();
  for (const r of records) {
    const k = r.status === 200 ? r.body : String(r.status || r.error);
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(by));
};

Deno.test("zk restart: aurproxy restarted while ZooKeeper is down, with no state file and then a truncated one, keeps nginx serving the live config's endpoints (no request fails) until ZooKeeper's members replace them", async () => {
  const zk = await startZooKeeper();
  const [web1, web2] = await Promise.all(["web-1", "web-2"].map((name) => startBackend({ name })));
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-restart-" });
  const port = freePort();
  const keys = nginxKeys(dir);
  const configPath = `${dir}/config.json`;
  const stateFile = `${dir}/conf/aurproxy-state.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      backend: "nginx",
      ...keys,
      servers: [{
        ports: [port],
        routes: [{
          locations: ["/"],
          empty_endpoint_status_code: 503,
          sources: [{
            source_class: "tellapart.aurproxy.source.AuroraProxySource",
            zk_servers: zk.connectString,
            role: "www-data",
            environment: "prod",
            job: "web",
          }],
        }],
      }],
    }),
  );
  const flags = [
    `--config=${configPath}`,
    "--max-update-frequency=0",
    "--zk-session-timeout-seconds=4",
  ];
  const procs: { quit(): Promise<unknown> }[] = [];
  const aurproxy = async () => {
    const p = await startAurproxy(freePort(), flags);
    procs.push(p);
    return p;
  };
  let nginx: Awaited<ReturnType<typeof runNginx>> | undefined;
  try {
    const admin = await zk.announcer();
    // Persistent: the member is there again when ZooKeeper comes back.
    await admin.createNode(
      `${JOB}/member_0000000001`,
      serverSetMemberJson({ host: "127.0.0.1", port: web1.port }),
    );
    await admin.close();
    // The task as Aurora runs it: setup, nginx, aurproxy.
    strictEqual(
      (await runAurproxy(["run", "--setup", `--management-port=${freePort()}`, ...flags])).code,
      0,
    );
    nginx = await runNginx(nginxOptions(dir), [port]);
    const first = await aurproxy();
    await waitFor("web-1 served", async () => (await httpGet(port, "/")).body === "web-1");
    const traffic = startTraffic(port, { tag: () => Date.now() });
    await first.quit();
    const defaultStateFile = await Deno.readTextFile(stateFile).catch(() => undefined);

    await zk.stop();
    await Deno.remove(stateFile).catch(() => {});
    // Restarted with ZooKeeper down and no state file: the live config is all it knows.
    const second = await aurproxy();
    await sleep(2000); // a few update periods after the sources gave up waiting
    const withoutState = traffic.records.length;
    const failedWithout = traffic.failures().length;
    const details2 = await second.healthDetails();
    await second.quit();
    // `run --setup` (the task's first process) with ZooKeeper down rewrites the same servers.
    strictEqual(
      (await runAurproxy(["run", "--setup", `--management-port=${freePort()}`, ...flags])).code,
      0,
    );
    const rewrittenBySetup = await Deno.readTextFile(keys.configuration_file);

    // Restarted again with a truncated state file (a disk that filled up mid-write).
    const good = defaultStateFile ?? "";
    await Deno.writeTextFile(stateFile, good.slice(0, Math.floor(good.length / 2)));
    const third = await aurproxy();
    await sleep(2000);
    const failedTruncated = traffic.failures().length - failedWithout;
    const details3 = await third.healthDetails();
    const metrics3 = await third.metrics();

    // ZooKeeper back, with the job changed meanwhile: its real members replace the kept ones.
    await zk.start();
    const again = await zk.announcer();
    await again.createNode(
      `${JOB}/member_0000000002`,
      serverSetMemberJson({ host: "127.0.0.1", port: web2.port }),
    );
    await again.remove(`${JOB}/member_0000000001`);
    await again.close();
    await waitFor(
      "web-2 served once ZooKeeper is back",
      () => traffic.records.slice(-5).every((r) => r.body === "web-2"),
      20_000,
    );
    await waitFor("healthy again", async () => (await third.healthDetails()).startsWith("OK"));
    await traffic.stop();

    strictEqual(
      failedWithout,
      0,
      `without a state file: ${failedWithout} of ${withoutState} requests failed ` +
        `(${summary(traffic.records.slice(0, withoutState))})`,
    );
    strictEqual(failedTruncated, 0, `with a truncated state file: ${failedTruncated} failed`);
    strictEqual(traffic.failures().length, 0, summary(traffic.records));
    strictEqual(
      details2.includes(
        "ZooKeeper not reached yet: serving 1 endpoint(s) from the live nginx config",
      ),
      true,
      details2,
    );
    strictEqual(defaultStateFile?.includes(`"port":${web1.port}`), true, "on by default");
    strictEqual(
      /server 127\.0\.0\.1:(\d+) weight=/.exec(rewrittenBySetup)?.[1],
      String(web1.port),
      "--setup kept the live server",
    );
    strictEqual(
      details3.includes(`state file ${stateFile} is unusable (not JSON)`),
      true,
      details3,
    );
    strictEqual(details3.includes("from the live nginx config"), true, details3);
    strictEqual(metrics3["aurproxy.state_file_unusable"], 1, JSON.stringify(metrics3));
    strictEqual(
      (await third.healthDetails()).includes("state file"),
      false,
      "a good state file was written once ZooKeeper answered",
    );
    // Written at most once a second: the member ZooKeeper now reports is there soon.
    await waitFor(
      "the state file to hold ZooKeeper's member",
      async () =>
        JSON.stringify(JSON.parse(await Deno.readTextFile(stateFile)))
          .includes(`"port":${web2.port}`),
      5_000,
    );
  } finally {
    for (const p of procs) await p.quit();
    await nginx?.stop();
    await web1.close();
    await web2.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
