// Issue 8, A4: a job whose members all vanish at once (its path deleted, or every member
// gone in one step) keeps its previous endpoints for a grace period, as Synapse's
// `use_previous_backends` does; health checks still judge them; `use_previous_endpoints:
// false` turns it off. Real ZooKeeper, real nginx, aurproxy as the CLI process.
import { strictEqual } from "node:assert";
import { serverSetMemberJson } from "../../lib/zk/announcer.ts";
import { nginxKeys, startStack } from "../../testing/aurproxy_stack.ts";
import { oneRouteConfig } from "../../testing/proxy_config.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startTraffic, type TrafficRecord } from "../../testing/traffic.ts";
import { startZooKeeper, type TestAnnouncer } from "../../testing/zookeeper.ts";

const JOB = "/aurora/www-data/prod/web";
const HEALTH = "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function auroraSource(zkServers: string, extra: Record<string, unknown> = {}) {
  return {
    source_class: "tellapart.aurproxy.source.AuroraProxySource",
    zk_servers: zkServers,
    role: "www-data",
    environment: "prod",
    job: "web",
    ...extra,
  };
}

/** Persistent members (so the test, not a session, decides when they go). */
async function addMembers(admin: TestAnnouncer, backends: readonly TestBackend[]) {
  for (const [i, b] of backends.entries()) {
    await admin.createNode(
      `${JOB}/member_${String(i + 1).padStart(10, "0")}`,
      serverSetMemberJson({ host: "127.0.0.1", port: b.port }),
    );
  }
}

async function removeMembers(admin: TestAnnouncer, n: number) {
  for (let i = 0; i < n; i++) {
    await admin.remove(`${JOB}/member_${String(i + 1).padStart(10, "0")}`).catch(() => {});
  }
}

const served = (records: readonly TrafficRecord<number>[]) =>
  [...new Set(records.filter((r) => r.status === 200).map((r) => r.body))].sort().join(",");

const summary = (records: readonly TrafficRecord<number>[]) => {
  const byStatus = new Map<string, number>();
  for (const r of records) {
    const k = r.status === 200 ? r.body : String(r.status || r.error);
    byStatus.set(k, (byStatus.get(k) ?? 0) + 1);
  }
  return JSON.stringify(Object.fromEntries(byStatus));
};

Deno.test("zk previous endpoints: a job path deleted for 1.5 s keeps serving its previous endpoints (no request fails); the members that come back replace them", async () => {
  const zk = await startZooKeeper();
  const backends = await Promise.all(["web-1", "web-2"].map((name) => startBackend({ name })));
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-prev-" });
  const port = freePort();
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    const admin = await zk.announcer();
    await addMembers(admin, backends);
    stack = await startStack({
      dir,
      config: oneRouteConfig({ dir, port, sources: [auroraSource(zk.connectString)] }),
      proxyPorts: [port],
      flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
    });
    await waitFor("both members served", async () => {
      const bodies = new Set<string>();
      for (let i = 0; i < 6; i++) bodies.add((await httpGet(port, "/")).body);
      return bodies.size === 2;
    }, 15_000);
    const traffic = startTraffic(port, { tag: () => Date.now() });
    await sleep(300);
    // An operator's `rmr` of the job path, re-created 1.5 s later with one member only.
    await removeMembers(admin, 2);
    await admin.remove(JOB);
    await sleep(1500);
    await addMembers(admin, [backends[1]]);
    const back = Date.now();
    await waitFor(
      "only web-2 served",
      () => traffic.records.slice(-5).every((r) => r.body === "web-2"),
      15_000,
    );
    await sleep(300);
    await traffic.stop();
    const gap = traffic.records.filter((r) => r.before < back);
    strictEqual(
      traffic.failures().length,
      0,
      `requests that failed while the path was gone: ${summary(traffic.records)}`,
    );
    strictEqual(served(gap), "web-1,web-2", "the previous endpoints served the gap");
    strictEqual(traffic.records.at(-1)?.body, "web-2", "the members that came back serve");
    await admin.close();
  } finally {
    await stack?.stop();
    for (const b of backends) await b.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zk previous endpoints: members gone for good are dropped after the grace period, health checks still judge them meanwhile, and use_previous_endpoints: false empties the route at once", async () => {
  const zk = await startZooKeeper();
  const backends = await Promise.all(["web-1", "web-2"].map((name) => startBackend({ name })));
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-prev-" });
  const [kept, off] = [freePort(), freePort()];
  const graceS = 8;
  const health = {
    share_adjuster_class: HEALTH,
    route: "/health",
    interval: 0.3,
    timeout: 0.25,
    unhealthy_threshold: 1,
    healthy_threshold: 1,
  };
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    const admin = await zk.announcer();
    await addMembers(admin, backends);
    stack = await startStack({
      dir,
      config: {
        backend: "nginx",
        ...nginxKeys(dir),
        servers: [{
          ports: [kept],
          routes: [{
            locations: ["/"],
            empty_endpoint_status_code: 503,
            sources: [{
              ...auroraSource(zk.connectString, { previous_endpoints_grace_seconds: graceS }),
              share_adjusters: [health],
            }],
          }],
        }, {
          ports: [off],
          routes: [{
            locations: ["/"],
            empty_endpoint_status_code: 503,
            sources: [auroraSource(zk.connectString, { use_previous_endpoints: false })],
          }],
        }],
      },
      proxyPorts: [kept, off],
      flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
    });
    for (const p of [kept, off]) {
      await waitFor("both members served", async () => {
        const bodies = new Set<string>();
        for (let i = 0; i < 6; i++) bodies.add((await httpGet(p, "/")).body);
        return bodies.size === 2;
      }, 15_000);
    }
    const traffic = startTraffic(kept, { tag: () => Date.now() });
    // Every member gone in one step (the path stays).
    await removeMembers(admin, 2);
    const gone = Date.now();
    await waitFor("the route without the switch empties", async () => {
      return (await httpGet(off, "/")).status === 503;
    }, 5000);
    strictEqual(Date.now() - gone < 5000, true);
    const details = await (await fetch(`http://127.0.0.1:${stack.mgmtPort}/health/details`))
      .text();
    strictEqual(details.includes("keeping 2 previous endpoint(s)"), true, details);
    // A kept endpoint that fails its health check takes no more traffic.
    backends[1].healthStatus = 503;
    const sick = Date.now();
    await sleep(2000);
    const judged = traffic.records.filter((r) => r.before > sick + 1000);
    strictEqual(judged.length > 0, true);
    strictEqual(served(judged), "web-1", `after web-2 failed its check: ${summary(judged)}`);
    await waitFor("the route to empty after the grace period", () => {
      return traffic.records.at(-1)?.status === 503;
    }, (graceS + 10) * 1000);
    const emptied = traffic.records.find((r) => r.status === 503)!.after;
    await traffic.stop();
    const before = traffic.records.filter((r) => r.after < emptied);
    strictEqual(
      before.every((r) => r.status === 200),
      true,
      `until the grace period ended: ${summary(before)}`,
    );
    strictEqual(
      emptied - gone >= graceS * 1000 - 500,
      true,
      `emptied ${emptied - gone} ms after the members went (grace ${graceS} s)`,
    );
    strictEqual(emptied - gone < (graceS + 5) * 1000, true, `${emptied - gone} ms`);
    await admin.close();
  } finally {
    await stack?.stop();
    for (const b of backends) await b.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
