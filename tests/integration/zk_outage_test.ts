import { strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { AuroraSource } from "../../lib/sources/registry/aurora.ts";
import { ServerSetSource } from "../../lib/sources/registry/serverset.ts";
import type { Source } from "../../lib/sources/source.ts";
import { EndpointStateStore } from "../../lib/sources/state_file.ts";
import { announce } from "../../lib/zk/announcer.ts";
import { ZkSession } from "../../lib/zk/session.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { startStack } from "../../testing/aurproxy_stack.ts";
import { auroraSource, oneRouteConfig } from "../../testing/proxy_config.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startTcpRelay } from "../../testing/tcp_relay.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const ports = (s: Source) => s.endpoints().map((e) => e.port).sort((a, b) => a - b).join(",");
const until = (s: Source, expected: string, ms = 15_000) =>
  waitFor(`endpoints ${expected} (have ${ports(s)})`, () => ports(s) === expected, ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const member = (port: number) =>
  JSON.stringify({ serviceEndpoint: { host: "127.0.0.1", port }, status: "ALIVE" });

function deps(sessionTimeoutMs: number) {
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs, clock: systemClock, logger, metrics });
  return { logger, metrics, sessions, clock: systemClock };
}

/**
 * Records every distinct endpoint list a source serves, in order, sampling often: what
 * traffic would have seen through an outage.
 */
function served(src: Source) {
  const seen = [ports(src)];
  const timer = setInterval(() => {
    if (ports(src) !== seen.at(-1)) seen.push(ports(src));
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      if (ports(src) !== seen.at(-1)) seen.push(ports(src));
      return seen.join(" -> ");
    },
  };
}

Deno.test("zk outage: ZooKeeper down longer than the session timeout expires the session; the last endpoints serve throughout and changes made meanwhile are seen", async () => {
  const zk = await startZooKeeper();
  // aurproxy reaches ZooKeeper through a relay, so that it can be kept away after the
  // restart: ZooKeeper restores its sessions on restart, and a client that reconnects in
  // time keeps its session.
  const relay = startTcpRelay(zk.port);
  const d = deps(3000);
  const ensemble = `127.0.0.1:${relay.port}`;
  try {
    const admin = await zk.announcer();
    await admin.createNode("/sd/web/member_0000000001", member(9001));
    await admin.close();
    const src = new ServerSetSource({
      zkServers: ensemble,
      zkPath: "/sd/web",
      zkMemberPrefix: "member_",
    }, d);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await until(src, "9001");
    const session = d.sessions.get(ensemble);
    const id = session.sessionId!;
    const generation = session.generation;
    const before = changes;
    const trace = served(src);
    relay.pause();
    await zk.stop();
    await waitFor("disconnected", () => session.state === "disconnected", 5000);
    await zk.start();
    strictEqual((await zk.liveSessions()).includes(id), true, "restored by the restart");
    // While aurproxy is away: the registry changes, and the session expires on the server.
    const again = await zk.announcer();
    await again.createNode("/sd/web/member_0000000002", member(9002));
    await again.remove("/sd/web/member_0000000001");
    await again.close();
    await waitFor(
      "the server to expire aurproxy's session",
      async () => !(await zk.liveSessions()).includes(id),
      10_000,
    );
    strictEqual(ports(src), "9001", "last known endpoints are kept while away");
    strictEqual(src.status().healthy, false);
    strictEqual(d.sessions.health().level, "degraded");
    relay.resume();
    await until(src, "9002");
    strictEqual(trace.stop(), "9001 -> 9002", "no empty or partial list was ever served");
    strictEqual(session.expirations >= 1, true, "the session expired");
    strictEqual(session.generation > generation, true, "a new session was built");
    strictEqual(session.sessionId !== id, true);
    strictEqual(src.status().healthy, true);
    strictEqual(changes, before + 1, "one change: what changed during the outage");
    await src.stop();
  } finally {
    await d.sessions.closeAll();
    await relay.close();
    await zk.destroy();
  }
});

Deno.test("zk outage: a network cut that expires the session; a new session re-watches and sees what changed meanwhile", async () => {
  const zk = await startZooKeeper();
  const relay = startTcpRelay(zk.port);
  const d = deps(1200);
  const announcer = new ZkSession(zk.connectString, {
    sessionTimeoutMs: 10_000,
    clock: systemClock,
    logger: memoryLogger(),
  });
  try {
    await announcer.waitConnected(10_000);
    const m1 = await announce(announcer, "/aurora/r/e/j", { host: "127.0.0.1", port: 9001 });
    const src = new ServerSetSource({
      zkServers: `127.0.0.1:${relay.port}`,
      zkPath: "/aurora/r/e/j",
      zkMemberPrefix: "member_",
    }, d);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await until(src, "9001");
    const session = d.sessions.get(`127.0.0.1:${relay.port}`);
    relay.pause();
    // While cut off: the registry changes.
    await announce(announcer, "/aurora/r/e/j", { host: "127.0.0.1", port: 9002 });
    await announcer.remove(m1);
    await sleep(3000);
    strictEqual(ports(src), "9001", "last known endpoints are kept during the cut");
    relay.resume();
    await until(src, "9002");
    strictEqual(session.expirations >= 1, true, "the session expired and was rebuilt");
    strictEqual(
      changes,
      2,
      "one change for the join before the cut, one for what changed during it",
    );
    await src.stop();
  } finally {
    await d.sessions.closeAll();
    await announcer.close();
    await relay.close();
    await zk.destroy();
  }
});

Deno.test("zk outage: a silent cut shorter than the session timeout is noticed; the client reconnects to the same session and sees what changed", async () => {
  const zk = await startZooKeeper();
  const relay = startTcpRelay(zk.port);
  // 6 s: the cut is noticed after 4 s without an answer, 2 s before the server would
  // expire the session.
  const d = deps(6000);
  const ensemble = `127.0.0.1:${relay.port}`;
  try {
    const announcer = await zk.announcer();
    await announcer.announce("/aurora/r/e/j", { host: "127.0.0.1", port: 9001 });
    const src = new AuroraSource({
      zkServers: ensemble,
      announcerServersetPath: "/aurora",
      role: "r",
      environment: "e",
      job: "j",
      zkMemberPrefix: "member_",
    }, d);
    await src.start();
    await until(src, "9001");
    const session = d.sessions.get(ensemble);
    const id = session.sessionId;
    strictEqual(d.sessions.health().level, "ok");
    // Bytes stop flowing; the TCP connection stays open, so the library hears nothing.
    relay.blackhole();
    const t0 = Date.now();
    await announcer.announce("/aurora/r/e/j", { host: "127.0.0.1", port: 9002 });
    await waitFor("the cut to be noticed", () => session.state === "disconnected", 8000);
    strictEqual(Date.now() - t0 <= 4000 + 1000, true, `noticed after ${Date.now() - t0} ms`);
    strictEqual(d.sessions.health().level, "degraded");
    strictEqual(src.status().healthy, false);
    strictEqual(ports(src), "9001", "last known endpoints are kept");
    relay.resume();
    await until(src, "9001,9002");
    strictEqual(session.state, "connected");
    strictEqual(session.sessionId, id, "the same session");
    strictEqual(session.expirations, 0);
    strictEqual(d.sessions.health().level, "ok");
    await src.stop();
  } finally {
    await d.sessions.closeAll();
    await relay.close();
    await zk.destroy();
  }
});

Deno.test("zk outage: a silent cut longer than the session timeout: noticed, the session expires, a new one re-watches and sees what changed meanwhile", async () => {
  const zk = await startZooKeeper();
  const relay = startTcpRelay(zk.port);
  const d = deps(2000);
  const ensemble = `127.0.0.1:${relay.port}`;
  const dir = await Deno.makeTempDir();
  // Re-confirms the entries of connected sources every 100 ms.
  const state = await EndpointStateStore.load(`${dir}/state.json`, {
    maxAgeSeconds: 3600,
    refreshMs: 100,
    flushDelayMs: 10,
    clock: systemClock,
    logger: d.logger,
  });
  try {
    const announcer = await zk.announcer();
    const m1 = await announcer.announce("/aurora/r/e/j", { host: "127.0.0.1", port: 9001 });
    const src = new ServerSetSource({
      zkServers: ensemble,
      zkPath: "/aurora/r/e/j",
      zkMemberPrefix: "member_",
    }, { ...d, state });
    let changes = 0;
    src.onChange(() => changes++);
    await src.start();
    await until(src, "9001");
    const session = d.sessions.get(ensemble);
    const id = session.sessionId!;
    const generation = session.generation;
    const before = changes;
    const trace = served(src);
    relay.blackhole();
    await announcer.announce("/aurora/r/e/j", { host: "127.0.0.1", port: 9002 });
    await announcer.remove(m1);
    await waitFor("the cut to be noticed", () => session.state === "disconnected", 5000);
    const savedAt = state.get(src.name)!.savedAt;
    await waitFor(
      "the server to expire aurproxy's session",
      async () => !(await zk.liveSessions()).includes(id),
      10_000,
    );
    strictEqual(ports(src), "9001", "last known endpoints are kept during the cut");
    strictEqual(
      state.get(src.name)!.savedAt,
      savedAt,
      "the state file no longer vouches for endpoints it cannot confirm",
    );
    relay.resume();
    await until(src, "9002");
    strictEqual(trace.stop(), "9001 -> 9002");
    strictEqual(session.expirations >= 1, true, "the session expired and was rebuilt");
    strictEqual(session.generation > generation, true);
    strictEqual(changes, before + 1);
    // Re-watched on the new session: a later change arrives too.
    await announcer.announce("/aurora/r/e/j", { host: "127.0.0.1", port: 9003 });
    await until(src, "9002,9003");
    await src.stop();
  } finally {
    await state.stop();
    await d.sessions.closeAll();
    await relay.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zk outage: restarted with ZooKeeper unreachable, the source serves the state file; without one, nothing", async () => {
  const dir = await Deno.makeTempDir();
  const statePath = `${dir}/state.json`;
  const zk = await startZooKeeper();
  const deadPort = freePort();
  const ensemble = zk.connectString;
  try {
    // A first run writes the state file.
    {
      const d = deps(4000);
      const state = await EndpointStateStore.load(statePath, {
        maxAgeSeconds: 3600,
        clock: systemClock,
        logger: d.logger,
      });
      const admin = await zk.announcer();
      await admin.createNode("/sd/api/member_0000000001", member(9101));
      await admin.createNode("/sd/api/member_0000000002", member(9102));
      await admin.close();
      const src = new ServerSetSource({
        zkServers: ensemble,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, { ...d, state });
      await src.start();
      await until(src, "9101,9102");
      await src.stop();
      await state.stop();
      await d.sessions.closeAll();
    }
    await zk.stop();
    // Restart with ZooKeeper unreachable and the state file present.
    {
      const d = deps(4000);
      const state = await EndpointStateStore.load(statePath, {
        maxAgeSeconds: 3600,
        clock: systemClock,
        logger: d.logger,
      });
      const src = new ServerSetSource({
        zkServers: ensemble,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, {
        ...d,
        state,
        startTimeoutMs: 500,
      });
      const t0 = Date.now();
      await src.start();
      strictEqual(Date.now() - t0 < 3000, true, "start() is bounded");
      strictEqual(ports(src), "9101,9102");
      strictEqual(src.status().healthy, false);
      strictEqual(src.status().detail.includes("from the state file"), true, src.status().detail);
      strictEqual(
        d.logger.lines.some((l) =>
          l.includes("serving 2 last known endpoint(s) from the state file")
        ),
        true,
      );
      await src.stop();
      await state.stop();
      await d.sessions.closeAll();
    }
    // Without a state file: empty, and bounded too.
    {
      const d = deps(4000);
      const src = new ServerSetSource({
        zkServers: `127.0.0.1:${deadPort}`,
        zkPath: "/sd/api",
        zkMemberPrefix: "member_",
      }, {
        ...d,
        startTimeoutMs: 500,
      });
      await src.start();
      strictEqual(ports(src), "");
      strictEqual(src.status().detail, "ZooKeeper not reached yet: no endpoints");
      await src.stop();
      await d.sessions.closeAll();
    }
  } finally {
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zk outage: sources on two ensembles with the same job path keep their own state-file entries and metrics", async () => {
  const dir = await Deno.makeTempDir();
  const statePath = `${dir}/state.json`;
  const [zkA, zkB] = await Promise.all([startZooKeeper(), startZooKeeper()]);
  const job = { announcerServersetPath: "/aurora", role: "r", environment: "e", job: "web" };
  const source = (zkServers: string, d: ReturnType<typeof deps>, state: EndpointStateStore) =>
    new AuroraSource({ ...job, zkServers, zkMemberPrefix: "member_" }, {
      ...d,
      state,
      startTimeoutMs: 500,
    });
  const load = (d: ReturnType<typeof deps>) =>
    EndpointStateStore.load(statePath, {
      maxAgeSeconds: 3600,
      clock: systemClock,
      logger: d.logger,
    });
  try {
    {
      const d = deps(4000);
      const state = await load(d);
      const [a, b] = await Promise.all([zkA.announcer(), zkB.announcer()]);
      await a.createNode("/aurora/r/e/web/member_0000000001", member(9001));
      await b.createNode("/aurora/r/e/web/member_0000000001", member(9002));
      // A malformed member on one ensemble only.
      await b.createNode("/aurora/r/e/web/member_0000000002", "{");
      const srcA = source(zkA.connectString, d, state);
      const srcB = source(zkB.connectString, d, state);
      strictEqual(srcA.name !== srcB.name, true, `${srcA.name} vs ${srcB.name}`);
      strictEqual(srcA.name, `aurora:${zkA.connectString}/aurora/r/e/web`);
      await Promise.all([srcA.start(), srcB.start()]);
      strictEqual(ports(srcA), "9001");
      strictEqual(ports(srcB), "9002");
      strictEqual(d.metrics.get("source_member_invalid_total", { source: srcA.name }), 0);
      strictEqual(d.metrics.get("source_member_invalid_total", { source: srcB.name }), 1);
      await Promise.all([srcA.stop(), srcB.stop()]);
      await state.stop();
      await d.sessions.closeAll();
    }
    await Promise.all([zkA.stop(), zkB.stop()]);
    // Restarted with both ensembles down: each source is served its own last endpoints.
    {
      const d = deps(4000);
      const state = await load(d);
      const srcA = source(zkA.connectString, d, state);
      const srcB = source(zkB.connectString, d, state);
      await Promise.all([srcA.start(), srcB.start()]);
      strictEqual(ports(srcA), "9001");
      strictEqual(ports(srcB), "9002");
      strictEqual(srcA.status().detail.includes("from the state file"), true);
      await Promise.all([srcA.stop(), srcB.stop()]);
      await state.stop();
      await d.sessions.closeAll();
    }
  } finally {
    await Promise.all([zkA.destroy(), zkB.destroy()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("zk outage: the aurproxy process restarted with ZooKeeper down serves the state file through nginx (degraded on /health); a first start with neither a state file nor a live config answers 503 until ZooKeeper is back", async () => {
  const zk = await startZooKeeper();
  const backend = await startBackend({ name: "web-1" });
  const dirs = await Promise.all([0, 1].map(() => Deno.makeTempDir({ prefix: "aurproxy-zk-" })));
  const config = (dir: string, port: number) =>
    oneRouteConfig({
      dir,
      port,
      route: { empty_endpoint_status_code: 503 },
      sources: [{ ...auroraSource(zk.connectString, "www-data", "prod", "web"), endpoint: "http" }],
    });
  const stacks: { stop(): Promise<void> }[] = [];
  const stack = async (dir: string, port: number, stateFile: boolean) => {
    const flags = stateFile ? [`--state-file=${dir}/state.json`] : [];
    const s = await startStack({
      dir,
      config: config(dir, port),
      proxyPorts: [port],
      flags: ["--max-update-frequency=0", "--zk-session-timeout-seconds=4", ...flags],
      setupFlags: flags,
    });
    stacks.push(s);
    return s;
  };
  const body = async (port: number) => {
    const r = await httpGet(port, "/");
    return r.status === 200 ? r.body : String(r.status);
  };
  const health = async (mgmtPort: number) => {
    const r = await fetch(`http://127.0.0.1:${mgmtPort}/health`);
    const details = await fetch(`http://127.0.0.1:${mgmtPort}/health/details`);
    await r.body?.cancel();
    return { level: r.headers.get("x-aurproxy-health"), text: await details.text() };
  };
  try {
    const admin = await zk.announcer();
    // Persistent, so that the member is there again when ZooKeeper comes back.
    await admin.createNode(
      "/aurora/www-data/prod/web/member_0000000001",
      JSON.stringify({
        serviceEndpoint: { host: "127.0.0.1", port: backend.port },
        additionalEndpoints: { http: { host: "127.0.0.1", port: backend.port } },
        status: "ALIVE",
      }),
    );
    await admin.close();
    // A first run, with ZooKeeper up, writes the state file.
    const port = freePort();
    const first = await stack(dirs[0], port, true);
    await waitFor("traffic through nginx", async () => (await body(port)) === "web-1", 15_000);
    await first.stop();
    stacks.pop();

    await zk.stop();
    // Restarted with ZooKeeper down: with the state file (dirs[0]), and without (dirs[1]).
    const emptyPort = freePort();
    const [withState, withoutState] = await Promise.all([
      stack(dirs[0], port, true),
      stack(dirs[1], emptyPort, false),
    ]);
    // `--setup` already rendered the last known endpoint: nginx serves it from the start.
    strictEqual(await body(port), "web-1");
    const h = await health(withState.mgmtPort);
    strictEqual(h.level, "degraded", h.text);
    strictEqual(h.text.includes("serving 1 endpoint(s) from the state file"), true, h.text);
    strictEqual(h.text.includes(`zk ${zk.connectString}: `), true, h.text);
    strictEqual(await body(emptyPort), "503");
    const h2 = await health(withoutState.mgmtPort);
    strictEqual(h2.level, "degraded", h2.text);
    strictEqual(h2.text.includes("ZooKeeper not reached yet: no endpoints"), true, h2.text);
    for (let i = 0; i < 5; i++) strictEqual(await body(port), "web-1");

    await zk.start();
    await waitFor(
      "traffic once ZooKeeper is back",
      async () => (await body(emptyPort)) === "web-1",
      20_000,
    );
    await waitFor(
      "healthy again",
      async () => (await health(withState.mgmtPort)).level === "ok",
      20_000,
    );
    strictEqual(await body(port), "web-1");
  } finally {
    for (const s of stacks) await s.stop();
    await backend.close();
    await zk.destroy();
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
