/**
 * The main job end to end: real ZooKeeper + real nginx + real backends + aurproxy's real
 * object graph. A backend announced as Aurora does starts receiving traffic through
 * nginx; when its session ends it stops.
 */
import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { buildGraph } from "../../lib/cli/run.ts";
import { parseConfig } from "../../lib/config/parse.ts";
import { memoryLogger } from "../../lib/log.ts";
import { announce } from "../../lib/zk/announcer.ts";
import { zk as zkClient } from "../../lib/zk/client.ts";
import { ZkSession } from "../../lib/zk/session.ts";
import { startBackend, type TestBackend } from "../helpers/backend.ts";
import { httpGet } from "../helpers/http.ts";
import { runNginx } from "../helpers/nginx.ts";
import { freePort, waitFor } from "../helpers/ports.ts";
import { startZooKeeper } from "../helpers/zookeeper.ts";

const JOB = "/aurora/www-data/devel/hello_world";

async function servedBy(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await httpGet(port, "/")).body);
  return seen;
}

function announcerSession(connectString: string) {
  return new ZkSession(connectString, {
    sessionTimeoutMs: 4000,
    clock: systemClock,
    logger: memoryLogger(),
  });
}

Deno.test("discovery e2e: announce -> traffic through nginx; session closed -> no traffic; hostile members never reach nginx", async () => {
  const zk = await startZooKeeper();
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-e2e-" });
  const backends: TestBackend[] = [];
  const sessions: ZkSession[] = [];
  const port = freePort();
  const config = parseConfig({
    backend: "nginx",
    configuration_file: `${dir}/conf/nginx.conf`,
    nginx_pid_path: `${dir}/nginx.pid`,
    nginx_prefix: dir,
    servers: [{
      hosts: ["default"],
      ports: [port],
      context: { default_server: "True" },
      routes: [{
        locations: ["/"],
        empty_endpoint_status_code: 503,
        sources: [{
          source_class: "tellapart.aurproxy.source.AuroraProxySource",
          zk_servers: zk.connectString,
          role: "www-data",
          environment: "devel",
          job: "hello_world",
          endpoint: "http",
        }],
      }],
    }],
  });
  const log = memoryLogger();
  const graph = await buildGraph(config, {
    updatePeriodSeconds: 1,
    minIntervalSeconds: 0,
    weightAdjustmentDelaySeconds: 0,
    stateMaxAgeSeconds: 60,
    zkSessionTimeoutSeconds: 4,
  }, log);
  strictEqual((await graph.app.setup()).kind, "applied");
  const nginx = await runNginx(config.nginx, [port]);
  try {
    await graph.app.start();
    strictEqual((await httpGet(port, "/")).status, 503, "no members yet");
    for (const name of ["a", "b"]) {
      const b = await startBackend({ name });
      backends.push(b);
      const s = announcerSession(zk.connectString);
      sessions.push(s);
      await s.waitConnected(10_000);
      await announce(s, JOB, { host: "127.0.0.1", port: b.port + 0, additional: { http: b.port } });
    }
    await waitFor(
      "both backends serving",
      async () => (await servedBy(port, 10)).size === 2,
      10_000,
    );

    // A hostile member next to the good ones: skipped, counted, never rendered.
    const admin = announcerSession(zk.connectString);
    await admin.waitConnected(10_000);
    await admin.create(
      `${JOB}/member_`,
      JSON.stringify({
        serviceEndpoint: { host: "127.0.0.1", port: 1 },
        additionalEndpoints: {
          http: { host: "127.0.0.1;\n} server { listen 81; location / { return 200", port: 80 },
        },
        status: "ALIVE",
      }),
      zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
    );
    await waitFor(
      "invalid member counted",
      () =>
        graph.metrics.get("source_member_invalid", {
          source: "serverset:/aurora/www-data/devel/hello_world#http",
        }) === 1,
      10_000,
    );
    const rendered = await Deno.readTextFile(config.nginx.configurationFile);
    strictEqual(rendered.includes("listen 81"), false);
    const t = await new Deno.Command("nginx", {
      args: ["-t", "-q", "-p", dir, "-c", config.nginx.configurationFile],
    }).output();
    strictEqual(t.success, true);
    await admin.close();

    // Backend a's executor dies: its session closes, its member goes, traffic follows.
    await sessions[0].close();
    await waitFor("only b serving", async () => {
      const seen = await servedBy(port, 10);
      return seen.size === 1 && seen.has("b");
    }, 10_000);
    const status = graph.app.snapshot()!;
    strictEqual(status.servers[0].routes[0].endpoints.length, 1);
  } catch (e) {
    console.error(log.lines.join("\n"));
    throw e;
  } finally {
    await graph.app.stop();
    await graph.close();
    for (const s of sessions) await s.close();
    await nginx.stop();
    for (const b of backends) await b.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
