/**
 * Which children of a serverset path are members (issue 8, B7), against a real ZooKeeper
 * written to with kazoo, the client the original used: without `zk_member_prefix` every
 * child counts, as the original's ServerSet without a member filter (children whose data
 * is no member are skipped and counted); with it, only the children it names.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { parseSourceConfig } from "../../lib/kinds.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { sourceFactory } from "../../lib/sources/kinds.ts";
import { ZkSessions } from "../../lib/zk/sessions.ts";
import { waitFor } from "../../testing/ports.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

/** Creates `children` (name → data) under `path` with kazoo, as the original's tools did. */
async function kazooCreate(hosts: string, path: string, children: Record<string, string>) {
  const script = `
import json, sys
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1])
zk.start(timeout=10)
for name, data in json.loads(sys.argv[3]).items():
    zk.create(sys.argv[2] + "/" + name, data.encode(), makepath=True)
zk.stop()
`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, hosts, path, JSON.stringify(children)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`kazoo: ${new TextDecoder().decode(out.stderr)}`);
}

const member = (port: number) =>
  JSON.stringify({
    serviceEndpoint: { host: "127.0.0.1", port },
    additionalEndpoints: { http: { host: "127.0.0.1", port } },
    status: "ALIVE",
  });

Deno.test("zk: without zk_member_prefix every child of the path is a member; others are skipped and counted", async () => {
  const zk = await startZooKeeper();
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const sessions = new ZkSessions({ sessionTimeoutMs: 4000, clock: systemClock, logger, metrics });
  const create = sourceFactory({ sessions, clock: systemClock, logger, metrics });
  try {
    const job = "/aurora/www-data/devel/hello_world";
    await kazooCreate(zk.connectString, job, {
      member_0000000000: member(9001),
      node_0000000001: member(9002),
      lock: "not a member",
    });
    await kazooCreate(zk.connectString, "/sd/web", { a: member(9003), b: member(9004) });
    const aurora = (extra: Record<string, unknown> = {}) => ({
      source_class: "tellapart.aurproxy.source.AuroraProxySource",
      zk_servers: zk.connectString,
      role: "www-data",
      environment: "devel",
      job: "hello_world",
      ...extra,
    });
    const cases: [Record<string, unknown>, string, number, string][] = [
      [aurora(), "9001,9002", 1, `aurora:${zk.connectString}${job}`],
      // The same name as without a prefix (both select Aurora's members; state files keep
      // their entries), so the same counter: the child skipped above, nothing new.
      [aurora({ zk_member_prefix: "member_" }), "9001", 1, `aurora:${zk.connectString}${job}`],
      [aurora({ zk_member_prefix: "node_" }), "9002", 0, `aurora:${zk.connectString}${job}/node_*`],
      [
        { source_class: "serverset", path: "/sd/web", zk_servers: zk.connectString },
        "9003,9004",
        0,
        `serverset:${zk.connectString}/sd/web`,
      ],
    ];
    for (const [raw, ports, invalid, name] of cases) {
      const src = create(parseSourceConfig(raw));
      await src.start();
      try {
        const have = () => src.endpoints().map((e) => e.port).sort().join(",");
        await waitFor(
          `endpoints ${ports} of ${JSON.stringify(raw)} (have ${have()})`,
          () => have() === ports,
        );
        strictEqual(src.name, name);
        strictEqual(
          metrics.get("source_member_invalid_total", { source: src.name }),
          invalid,
          name,
        );
      } finally {
        await src.stop();
      }
    }
    deepStrictEqual(
      logger.lines.filter((l) => l.includes("skipping malformed member")).map((l) =>
        l.includes(`${job}/lock`)
      ),
      [true],
      "the skipped child is named in the log, once",
    );
  } finally {
    await sessions.closeAll();
    await zk.destroy();
  }
});
