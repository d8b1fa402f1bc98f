import { deepStrictEqual, notStrictEqual, rejects, strictEqual } from "node:assert";
import { type Clock, systemClock, type TimerId } from "../../lib/clock.ts";
import { BAD_ARGUMENTS } from "../../lib/zk/client.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { ZkOpError } from "../../lib/zk/op_error.ts";
import { shuffleHosts, ZkSession } from "../../lib/zk/session.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startTcpRelay } from "../../testing/tcp_relay.ts";
import { startZooKeeper, type TestZooKeeper } from "../../testing/zookeeper.ts";

// One ZooKeeper for the file (tickTime 200 ms: sessions may be as short as 400 ms).
let server: TestZooKeeper | undefined;
const zkServer = async () => server ??= await startZooKeeper({ tickTime: 200 });

function session(connectString: string, o: { sessionTimeoutMs?: number; opTimeoutMs?: number }) {
  return new ZkSession(connectString, {
    sessionTimeoutMs: o.sessionTimeoutMs ?? 4000,
    opTimeoutMs: o.opTimeoutMs,
    clock: systemClock,
    logger: memoryLogger(),
  });
}

const code = (c: ZkOpError["code"]) => (err: unknown) => err instanceof ZkOpError && err.code === c;

Deno.test("zk session: hosts are tried in random order; sessions are shared per ensemble", async () => {
  const hosts = "zk1:2181,zk2:2181,zk3:2181,zk4:2181";
  const orders = new Set<string>();
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 20; i++) {
    const s = shuffleHosts(hosts, random);
    deepStrictEqual(s.split(",").sort(), hosts.split(","), "every host kept once");
    orders.add(s);
  }
  strictEqual(orders.size > 5, true, `only ${orders.size} orders in 20 shuffles`);
  strictEqual(shuffleHosts(" zk1:2181 , zk2:2181,", () => 0), "zk2:2181,zk1:2181");

  const logger = memoryLogger();
  const sessions = new ZkSessions({
    sessionTimeoutMs: 4000,
    clock: systemClock,
    logger,
    metrics: new MetricsRegistry("aurproxy"),
  });
  const dead = `127.0.0.1:${freePort()}`;
  const other = `127.0.0.1:${freePort()}`;
  strictEqual(sessions.get(`${dead},${other}`), sessions.get(` ${other} , ${dead}`));
  notStrictEqual(sessions.get(dead), sessions.get(other));
  strictEqual(sessions.size, 3);
  await sessions.closeAll();
  strictEqual(sessions.size, 0);
});

Deno.test("zk session: with ZooKeeper unreachable every call is bounded and a closed session rejects", async () => {
  const s = session(`127.0.0.1:${freePort()}`, { opTimeoutMs: 300 });
  strictEqual(await s.waitConnected(200), false);
  const t0 = Date.now();
  await rejects(s.getChildren("/x"), code("timeout"));
  strictEqual(Date.now() - t0 < 2000, true);
  const pending = rejects(s.getData("/y"), code("closed"), "a call pending at close fails at once");
  await s.close();
  await pending;
  await rejects(s.exists("/z"), code("closed"));
  strictEqual(await s.waitConnected(10_000), false, "no waiting on a closed session");
  strictEqual(s.state, "closed");
});

Deno.test("zk session: closing during a network cut is prompt and leaves no socket or timer", async () => {
  const z = await zkServer();
  const relay = startTcpRelay(z.port);
  const s = session(`127.0.0.1:${relay.port}`, { sessionTimeoutMs: 4000 });
  try {
    strictEqual(await s.waitConnected(10_000), true);
    relay.pause();
    await waitFor("the client to notice the cut", () => s.state === "disconnected");
    await waitFor("the client to retry into the void", () => relay.connections === 1);
    const pending = rejects(s.getChildren("/"), code("closed"));
    const t0 = Date.now();
    await s.close();
    strictEqual(Date.now() - t0 < 2000, true, `close took ${Date.now() - t0} ms`);
    await pending;
    // The library alone would wait for the server's goodbye forever.
    await waitFor("the client's socket to be closed", () => relay.connections === 0, 1000);
  } finally {
    await s.close();
    await relay.close();
  }
  // The test sanitizers check that nothing of the client is left running.
});

Deno.test("zk session: after expiry a new session is built and subscribers re-read; state and gauges follow", async () => {
  const z = await zkServer();
  const relay = startTcpRelay(z.port);
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 1000, clock: systemClock, logger, metrics });
  const ensemble = `127.0.0.1:${relay.port}`;
  try {
    const s = sessions.get(ensemble);
    let connects = 0;
    s.onConnect(() => connects++);
    strictEqual(await s.waitConnected(10_000), true);
    strictEqual(s.generation, 1);
    sessions.refreshMetrics();
    strictEqual(metrics.get("zk_connected", { ensemble }), 1);
    strictEqual(sessions.health().level, "ok");

    relay.pause();
    await waitFor("disconnected", () => s.state === "disconnected");
    sessions.refreshMetrics();
    strictEqual(metrics.get("zk_connected", { ensemble }), 0);
    strictEqual(sessions.health().level, "degraded");
    strictEqual(sessions.health().lines[0].startsWith(`zk ${ensemble}: disconnected for`), true);
    await new Promise((r) => setTimeout(r, 2500)); // past the 1 s session timeout
    strictEqual(
      metrics.get("zk_last_event_age_seconds", { ensemble }) >= 0,
      true,
    );
    sessions.refreshMetrics();
    strictEqual(metrics.get("zk_last_event_age_seconds", { ensemble }) >= 2, true);

    relay.resume();
    await waitFor("a new session", () => s.state === "connected" && s.expirations === 1, 15_000);
    strictEqual(s.generation, 2);
    strictEqual(connects, 2, "subscribers heard the first connect and the new session");
    strictEqual(logger.lines.some((l) => l.includes("expired; starting a new one")), true);
    // The new session works.
    deepStrictEqual((await s.getChildren("/")).includes("zookeeper"), true);
    sessions.refreshMetrics();
    strictEqual(metrics.get("zk_connected", { ensemble }), 1);
    strictEqual(metrics.get("zk_session_expirations_total", { ensemble }), 1);
  } finally {
    await sessions.closeAll();
    await relay.close();
  }
});

Deno.test("zk session: a server that accepts the connection but never answers the handshake is tried again", async () => {
  const z = await zkServer();
  const relay = startTcpRelay(z.port);
  relay.blackhole(); // accepts, then silence: a hung server, or a partition past the SYN
  const logger = memoryLogger();
  const s = new ZkSession(`127.0.0.1:${relay.port}`, {
    sessionTimeoutMs: 2000,
    clock: systemClock,
    logger,
  });
  try {
    await waitFor("a first attempt", () => relay.accepted === 1, 5000);
    // The library alone waits for the handshake answer forever; the check gives a host the
    // session timeout divided by the number of hosts (2 s), then tries again.
    await waitFor("a second attempt", () => relay.accepted >= 2, 5000);
    strictEqual(
      logger.lines.some((l) => l.includes("did not answer the session handshake")),
      true,
      logger.lines.join("\n"),
    );
    strictEqual(s.state, "connecting");
    relay.resume();
    strictEqual(await s.waitConnected(8000), true);
    strictEqual(s.expirations, 0);
  } finally {
    await s.close();
    await relay.close();
  }
});

Deno.test("zk session: a silent cut while connected is noticed in 2/3 of the session timeout; the client fails over to another host, same session", async () => {
  const z = await zkServer();
  const relays = [startTcpRelay(z.port), startTcpRelay(z.port)];
  const logger = memoryLogger();
  const s = new ZkSession(relays.map((r) => `127.0.0.1:${r.port}`).join(","), {
    sessionTimeoutMs: 3000,
    clock: systemClock,
    logger,
  });
  let connects = 0;
  s.onConnect(() => connects++);
  try {
    strictEqual(await s.waitConnected(10_000), true);
    // The library picks a host at random.
    const [used, other] = relays[0].connections === 1 ? relays : [relays[1], relays[0]];
    strictEqual(used.connections, 1);
    strictEqual(other.connections, 0);
    const otherAccepted = other.accepted;
    const id = s.sessionId;
    strictEqual(typeof id, "string");
    used.blackhole(); // the TCP connection stays open; nothing comes back any more
    const t0 = Date.now();
    await waitFor(
      "the cut to be noticed",
      () => logger.lines.some((l) => l.includes("connection lost")),
      6000,
    );
    const noticedMs = Date.now() - t0;
    // Nothing heard for 2 s (2/3 of 3 s), the last answer having come at most a ping
    // interval (1 s) before the cut.
    strictEqual(noticedMs <= 2000 + 500, true, `noticed after ${noticedMs} ms`);
    await waitFor("reconnected through the other host", () => connects === 2, 5000);
    strictEqual(other.accepted > otherAccepted, true);
    strictEqual(other.connections, 1);
    strictEqual(s.state, "connected");
    strictEqual(s.sessionId, id, "the same session");
    strictEqual(s.generation, 1);
    strictEqual(s.expirations, 0);
    deepStrictEqual((await s.getChildren("/")).includes("zookeeper"), true);
  } finally {
    await s.close();
    for (const r of relays) await r.close();
  }
});

Deno.test('zk session: a call the library refuses before sending (a path with "..") fails at once and leaves no timer', async () => {
  const z = await zkServer();
  // Counts the session's timers that are still pending.
  const live = new Set<TimerId>();
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => {
      const id = setTimeout(() => {
        live.delete(id);
        fn();
      }, ms);
      live.add(id);
      return id;
    },
    clearTimeout: (id) => {
      live.delete(id);
      clearTimeout(id);
    },
  };
  const s = new ZkSession(z.connectString, {
    sessionTimeoutMs: 4000,
    opTimeoutMs: 60_000,
    clock,
    logger: memoryLogger(),
  });
  try {
    strictEqual(await s.waitConnected(10_000), true);
    const before = live.size; // the liveness check
    const t0 = Date.now();
    await rejects(s.getChildren("/sd/../web"), code(BAD_ARGUMENTS));
    strictEqual(Date.now() - t0 < 1000, true);
    strictEqual(live.size, before, "the call's timer is gone");
    // The session still works.
    strictEqual(await s.exists("/zookeeper"), true);
  } finally {
    await s.close();
  }
  strictEqual(live.size, 0, "no timer once closed");
});

Deno.test("zk session: (cleanup) stop the shared ZooKeeper", async () => {
  await server?.destroy();
});
