// Issue 8, A5: a ZooKeeper rebuilt empty on the same address refuses the old session
// ("Refusing session request for client ... as it has seen zxid 0x... our last zxid is
// 0x0 client must try another server") on every reconnection attempt, and the client
// library never gives up on it. aurproxy must drop that session, start a fresh one, and
// serve the members registered on the new server.
import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { serverSetMemberJson } from "../../lib/zk/announcer.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { startStack } from "../../testing/aurproxy_stack.ts";
import { auroraSource, oneRouteConfig } from "../../testing/proxy_config.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startTraffic } from "../../testing/traffic.ts";
import { startZooKeeper, type TestZooKeeper } from "../../testing/zookeeper.ts";

/** Stops the server, wipes its data (a rebuilt ensemble) and starts it on the same port. */
async function rebuild(zk: TestZooKeeper): Promise<void> {
  await zk.stop();
  await Deno.remove(`${zk.dir}/data`, { recursive: true });
  await zk.start();
}

Deno.test("zk rebuilt: the session the empty server refuses is dropped for a fresh one, which reads the new server", async () => {
  const zk = await startZooKeeper();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: systemClock, logger, metrics });
  try {
    const s = sessions.get(zk.connectString);
    strictEqual(await s.waitConnected(10_000), true);
    // Enough writes that this client has seen a zxid the rebuilt server has not reached.
    for (let i = 0; i < 10; i++) await s.mkdirp(`/old/n${i}`);
    const generation = s.generation;
    await rebuild(zk);
    const admin = await zk.announcer();
    await admin.createNode("/new/member_0000000001", "on the new server");
    const t0 = Date.now();
    await waitFor("a fresh session", () => s.state === "connected", 15_000);
    const tookMs = Date.now() - t0;
    strictEqual(s.generation > generation, true, "a new session was built");
    strictEqual(await s.getData("/new/member_0000000001"), "on the new server");
    strictEqual(await s.exists("/old/n0"), false);
    strictEqual(s.refusals >= 1, true);
    strictEqual(tookMs < 5000, true, `followed after ${tookMs} ms`);
    strictEqual(
      logger.lines.some((l) => l.includes("refused") && l.includes("starting a fresh session")),
      true,
      logger.lines.join("\n"),
    );
    sessions.refreshMetrics();
    strictEqual(
      metrics.get("zk_session_refusals_total", { ensemble: zk.connectString }),
      s.refusals,
    );
    await admin.close();
  } finally {
    await sessions.closeAll();
    await zk.destroy();
  }
});

Deno.test("zk rebuilt: members registered on a rebuilt, empty ZooKeeper reach nginx without restarting aurproxy, and no request fails meanwhile", async () => {
  const zk = await startZooKeeper();
  const [web1, web2] = await Promise.all(["web-1", "web-2"].map((name) => startBackend({ name })));
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-rebuilt-" });
  const port = freePort();
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    const admin = await zk.announcer();
    await admin.createNode(
      "/aurora/www-data/prod/web/member_0000000001",
      serverSetMemberJson({ host: "127.0.0.1", port: web1.port }),
    );
    await admin.close();
    stack = await startStack({
      dir,
      config: oneRouteConfig({
        dir,
        port,
        sources: [auroraSource(zk.connectString, "www-data", "prod", "web")],
      }),
      proxyPorts: [port],
      flags: ["--max-update-frequency=0", "--zk-session-timeout-seconds=4"],
    });
    await waitFor("web-1 served", async () => (await httpGet(port, "/")).body === "web-1");
    const traffic = startTraffic(port, { tag: () => Date.now() });
    await rebuild(zk);
    // Aurora's executor registers the job again on the new server.
    const announcer = await zk.announcer();
    await announcer.announce("/aurora/www-data/prod/web", { host: "127.0.0.1", port: web2.port });
    const t0 = Date.now();
    let servedAfterMs = -1;
    try {
      await waitFor(
        "web-2, registered on the new server, to be served",
        () => traffic.records.slice(-3).every((r) => r.body === "web-2"),
        20_000,
      );
      servedAfterMs = Date.now() - t0;
    } finally {
      await traffic.stop();
    }
    strictEqual(servedAfterMs >= 0 && servedAfterMs < 10_000, true, `${servedAfterMs} ms`);
    strictEqual(traffic.failures().length, 0, `${traffic.failures().length} requests failed`);
    const m = await stack.metrics();
    const refusals = Object.entries(m).find(([k]) => k.startsWith("aurproxy.zk_session_refusals"));
    strictEqual(Number(refusals?.[1]) >= 1, true, JSON.stringify(refusals));
    await announcer.close();
  } finally {
    await stack?.stop();
    await web1.close();
    await web2.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
