/**
 * Announcing an instance the way Aurora's executor does: an ephemeral, sequential
 * `member_` znode under the job's path holding the serverset JSON. The member lives as
 * long as the announcing session. Used by the demo's sample backends and by tests, and
 * useful for services outside Aurora that want to be found by aurproxy.
 *
 * @module
 */

import { zk } from "./client.ts";
import type { ZkSession } from "./session.ts";

export interface MemberSpec {
  readonly host: string;
  readonly port: number;
  /** Named additional endpoints (`http`, `health`, ...) as ports on the same host. */
  readonly additional?: Readonly<Record<string, number>>;
  readonly shard?: number;
  readonly status?: string;
}

/** The JSON Aurora writes for a member. */
export function serverSetMemberJson(m: MemberSpec): string {
  const additionalEndpoints = Object.fromEntries(
    Object.entries(m.additional ?? {}).map(([name, port]) => [name, { host: m.host, port }]),
  );
  return JSON.stringify({
    serviceEndpoint: { host: m.host, port: m.port },
    additionalEndpoints,
    status: m.status ?? "ALIVE",
    ...(m.shard === undefined ? {} : { shard: m.shard }),
  });
}

/**
 * Creates the job path if needed and the member znode; returns the member's path.
 *
 * @example
 * ```ts
 * import { systemClock } from "../clock.ts";
 * import { consoleLogger } from "../log.ts";
 * import { ZkSession } from "./session.ts";
 *
 * async function announceHelloWorld() {
 *   const session = new ZkSession("127.0.0.1:2181", {
 *     sessionTimeoutMs: 10_000,
 *     clock: systemClock,
 *     logger: consoleLogger(),
 *   });
 *   await session.waitConnected(5000);
 *   await announce(session, "/aurora/www-data/devel/hello_world", {
 *     host: "127.0.0.1",
 *     port: 8081,
 *     additional: { http: 8081 },
 *   });
 *   await session.close(); // the member disappears
 * }
 * ```
 */
export async function announce(
  session: ZkSession,
  jobPath: string,
  m: MemberSpec,
): Promise<string> {
  await session.mkdirp(jobPath);
  return await session.create(
    `${jobPath}/member_`,
    serverSetMemberJson(m),
    zk.CreateMode.EPHEMERAL_SEQUENTIAL,
  );
}

/** Creates a node with raw data (persistent unless `mode` says otherwise), parents included. */
export async function createNode(
  session: ZkSession,
  path: string,
  data: string,
  mode: number = zk.CreateMode.PERSISTENT,
): Promise<string> {
  const parent = path.slice(0, path.lastIndexOf("/"));
  if (parent) await session.mkdirp(parent);
  return await session.create(path, data, mode);
}
