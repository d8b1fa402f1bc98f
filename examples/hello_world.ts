/**
 * A sample backend for the demo: answers "Hello World!" over HTTP and announces itself in
 * ZooKeeper exactly as Aurora's executor does (an ephemeral `member_` znode with the
 * serverset JSON). When the process ends, its session ends and the member disappears.
 *
 *   deno run -A examples/hello_world.ts --zk=127.0.0.1:2181 \
 *     --path=/aurora/www-data/devel/hello_world --port=9001 --shard=0
 *
 * @module
 */

import { parseArgs } from "node:util";
import { systemClock } from "../lib/clock.ts";
import { consoleLogger } from "../lib/log.ts";
import { announce } from "../lib/zk/announcer.ts";
import { ZkSession } from "../lib/zk/session.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    zk: { type: "string" },
    path: { type: "string" },
    port: { type: "string" },
    shard: { type: "string", default: "0" },
  },
});
if (!values.zk || !values.path || !values.port) {
  console.error(
    "usage: hello_world.ts --zk=HOST:PORT --path=/aurora/ROLE/ENV/JOB --port=PORT [--shard=N]",
  );
  Deno.exit(2);
}
const port = Number(values.port);
const shard = Number(values.shard);
const logger = consoleLogger({ component: `hello_world[${shard}]` });

Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (path === "/health") return new Response("ok");
  return new Response(`Hello World! (shard ${shard}, port ${port})\n`);
});

const session = new ZkSession(values.zk, { sessionTimeoutMs: 4000, clock: systemClock, logger });
if (!await session.waitConnected(10_000)) {
  logger.error(`cannot reach ZooKeeper at ${values.zk}`);
  Deno.exit(1);
}
const member = await announce(session, values.path, {
  host: "127.0.0.1",
  port,
  additional: { http: port, health: port },
  shard,
});
logger.info(`serving on 127.0.0.1:${port}, announced as ${member}`);

const quit = async () => {
  await session.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", quit);
Deno.addSignalListener("SIGINT", quit);
