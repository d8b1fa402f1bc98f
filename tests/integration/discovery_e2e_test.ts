/**
 * The main job end to end: real ZooKeeper + real nginx + real backends + aurproxy's real
 * object graph. A backend announced as Aurora does starts receiving traffic through
 * nginx; when its session ends it stops.
 */
import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { buildGraph } from "../../lib/cli/graph.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { nginxBackend } from "../../lib/backends/nginx/kind.ts";
import { optionsFor } from "../../lib/backends/table.ts";
import { memoryLogger } from "../../lib/log.ts";
import { announce } from "../../lib/zk/announcer.ts";
import { zk as zkClient } from "../../lib/zk/client.ts";
import { ZkSession } from "../../lib/zk/session.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

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
  const nginxOptions = optionsFor(nginxBackend, config);
  const nginx = await runNginx(nginxOptions, [port]);
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

    // Hostile members, each in the same change as a good member created right after it:
    // once the good one answers through nginx, the hostile one has been read and rendered
    // around. Skipped, counted, and nothing of it reaches nginx.
    const admin = announcerSession(zk.connectString);
    sessions.push(admin);
    await admin.waitConnected(10_000);
    const source = graph.app.sources[0].name;
    const ep = (host: string, port: unknown = 80) => ({ host, port });
    const hostile: [marker: string, data: unknown][] = [
      ["listen 81", { serviceEndpoint: ep("1.2.3.4; } server { listen 81"), status: "ALIVE" }],
      ["listen 82", {
        serviceEndpoint: ep("127.0.0.1", 1),
        additionalEndpoints: {
          http: ep("127.0.0.1;\n} server { listen 82; location / { return 200", 80),
        },
        status: "ALIVE",
      }],
      ["/etc/passwd", {
        serviceEndpoint: ep("127.0.0.1"),
        additionalEndpoints: { http: ep("127.0.0.1", "80; include /etc/passwd") },
        status: "ALIVE",
      }],
      ["injected-comment", {
        serviceEndpoint: ep("127.0.0.1"),
        additionalEndpoints: { http: ep("127.0.0.1 # injected-comment") },
        status: "ALIVE",
      }],
      ["/tmp/pwned", {
        serviceEndpoint: ep("127.0.0.1"),
        additionalEndpoints: { http: ep("$(touch /tmp/pwned)") },
        status: "ALIVE",
      }],
      ["6.6.6.6", "upstream evil { server 6.6.6.6; }"],
      ["evil.example", {
        serviceEndpoint: ep("127.0.0.1"),
        additionalEndpoints: { http: ep("evil.example\u0000;") },
        status: "ALIVE",
      }],
    ];
    for (const [i, [marker, data]] of hostile.entries()) {
      await admin.create(
        `${JOB}/member_`,
        typeof data === "string" ? data : JSON.stringify(data),
        zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
      );
      const good = await startBackend({ name: `good${i}` });
      backends.push(good);
      await announce(admin, JOB, {
        host: "127.0.0.1",
        port: good.port,
        additional: { http: good.port },
      });
      await waitFor(
        `good${i} serving next to the member injecting ${JSON.stringify(marker)}`,
        async () => (await servedBy(port, 2 * (3 + i))).has(`good${i}`),
        10_000,
      );
      const rendered = await Deno.readTextFile(nginxOptions.configurationFile);
      strictEqual(rendered.includes(`127.0.0.1:${good.port} `), true, "the good member is live");
      strictEqual(rendered.includes(marker), false, `${JSON.stringify(marker)} reached nginx`);
      const t = await new Deno.Command("nginx", {
        args: ["-t", "-q", "-p", dir, "-c", nginxOptions.configurationFile],
      }).output();
      strictEqual(t.success, true, new TextDecoder().decode(t.stderr));
      strictEqual(graph.metrics.get("source_member_invalid_total", { source }), i + 1);
    }

    // Backend a's executor dies: its session closes, its member goes, traffic follows.
    await sessions[0].close();
    const live = 1 + hostile.length; // b and the good members
    await waitFor(
      "a gone",
      () => graph.app.snapshot()!.servers[0].routes[0].endpoints.length === live,
      10_000,
    );
    await waitFor("a no longer answering through nginx", async () => {
      const seen = await servedBy(port, 3 * live);
      return !seen.has("a") && seen.has("b");
    }, 10_000);
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
