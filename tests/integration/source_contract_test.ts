// Every Source implementation runs the same contract (testing/contracts/source_contract.ts):
// the static and list sources in memory, the ZooKeeper serverset and Aurora sources against
// a real ZooKeeper, their endpoints announced and removed as Aurora's executor does, and
// the ApiSource, its managed sources PUT and DELETEd over HTTP on a management port.

import { systemClock } from "../../lib/clock.ts";
import type { Endpoint } from "../../lib/model/endpoint.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { ListSource } from "../../lib/sources/list_source.ts";
import { AuroraSource } from "../../lib/sources/registry/aurora.ts";
import { ServerSetSource } from "../../lib/sources/registry/serverset.ts";
import type { Source } from "../../lib/sources/source.ts";
import { StaticSource } from "../../lib/sources/static.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { runSourceContract, type SourceFixture } from "../../testing/contracts/source_contract.ts";
import { startZooKeeper, type TestZooKeeper } from "../../testing/zookeeper.ts";
import { apiFixture, staticSource } from "../../testing/api_source.ts";
import { startManagementServer } from "../../lib/management/server.ts";

const endpoint = (port: number): Endpoint => ({
  host: "127.0.0.1",
  port,
  ports: { default: port },
});

runSourceContract({
  name: "static",
  fixed: true,
  quietMs: 50,
  setup: ([port]) =>
    Promise.resolve({
      source: new StaticSource({ name: "devnull", host: "127.0.0.1", port }),
      cleanup: () => Promise.resolve(),
    }),
});

runSourceContract({
  name: "list",
  quietMs: 50,
  setup: (ports) => {
    const source = new ListSource("api.test", ports.map(endpoint));
    return Promise.resolve({
      source,
      addEndpoint: (port) => Promise.resolve(source.set([...source.endpoints(), endpoint(port)])),
      removeEndpoint: (port) =>
        Promise.resolve(source.set(source.endpoints().filter((e) => e.port !== port))),
      cleanup: () => Promise.resolve(),
    });
  },
});

runSourceContract({
  name: "api (over HTTP)",
  quietMs: 100,
  setup: async (ports) => {
    const f = apiFixture({ clock: systemClock });
    const server = await startManagementServer({
      hostname: "127.0.0.1",
      port: 0,
      logger: f.logger,
      metrics: new MetricsRegistry("aurproxy"),
      health: [],
      snapshot: () => undefined,
      shutdown: () => {},
      routes: f.routes,
    });
    const url = (port: number) => `http://127.0.0.1:${server.port}/api/source/dyn/source/p${port}/`;
    const send = async (method: string, port: number, expected: number[]) => {
      const body = method === "PUT" ? JSON.stringify({ source: staticSource(port) }) : undefined;
      const res = await fetch(url(port), { method, body });
      await res.body?.cancel();
      if (!expected.includes(res.status)) throw new Error(`${method} ${port}: ${res.status}`);
    };
    // Put before start: the ApiSource starts with them.
    for (const p of ports) await send("PUT", p, [201]);
    return {
      source: f.api,
      addEndpoint: (port) => send("PUT", port, [201]),
      removeEndpoint: (port) => send("DELETE", port, [204]),
      cleanup: async () => {
        await server.close();
        await f.close();
      },
    };
  },
});

// One ZooKeeper for the file; each fixture has its own job path.
let server: TestZooKeeper | undefined;
let jobs = 0;

/** A registry source on the shared ZooKeeper, its endpoints announced by a separate session. */
async function zkFixture(
  ports: readonly number[],
  create: (
    deps: ConstructorParameters<typeof ServerSetSource>[1],
    connectString: string,
    job: string,
  ) => { source: Source; path: string },
): Promise<SourceFixture> {
  server ??= await startZooKeeper();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: systemClock, logger, metrics });
  const { source, path } = create(
    { sessions, clock: systemClock, logger, metrics },
    server.connectString,
    `job${++jobs}`,
  );
  const announcer = await server.announcer();
  const members = new Map<number, string>();
  const add = async (port: number) => {
    members.set(port, await announcer.announce(path, { host: "127.0.0.1", port }));
  };
  for (const p of ports) await add(p);
  return {
    source,
    addEndpoint: add,
    removeEndpoint: async (port) => {
      await announcer.remove(members.get(port)!);
      members.delete(port);
    },
    cleanup: async () => {
      await source.stop();
      await sessions.closeAll();
      await announcer.close();
    },
  };
}

runSourceContract({
  name: "serverset (ZooKeeper)",
  setup: (ports) =>
    zkFixture(ports, (deps, zkServers, job) => {
      const source = new ServerSetSource(
        { zkServers, zkPath: `/sd/${job}`, zkMemberPrefix: "member_" },
        deps,
      );
      return { source, path: source.zkPath };
    }),
});

runSourceContract({
  name: "aurora (ZooKeeper)",
  setup: (ports) =>
    zkFixture(ports, (deps, zkServers, job) => {
      const source = new AuroraSource({
        zkServers,
        announcerServersetPath: "/aurora",
        role: "www-data",
        environment: "prod",
        job,
        zkMemberPrefix: "member_",
      }, deps);
      return { source, path: source.zkPath };
    }),
});

Deno.test("source contract: (cleanup) stop the shared ZooKeeper", async () => {
  await server?.destroy();
});
