/**
 * A real ZooKeeper (Debian's package) for tests and the demo: standalone server in a temp
 * dir on a free loopback port. `stop()`/`start()`/`restart()` keep the data dir and port,
 * so persistent nodes survive and sessions can be tested across an outage. `announcer()`
 * is a client that writes the registry as Aurora's executor would.
 *
 * @module
 */

import { systemClock } from "../lib/clock.ts";
import { memoryLogger } from "../lib/log.ts";
import { announce, createNode, type MemberSpec } from "../lib/zk/announcer.ts";
import { zk } from "../lib/zk/client.ts";
import { ZkSession } from "../lib/zk/session.ts";
import { freePort, waitFor, waitForPort } from "./ports.ts";

/**
 * Sends a four-letter command and returns the answer. Bounded: a server still starting can
 * accept the connection and never answer, so the connection is cut after `timeoutMs`.
 */
export async function fourLetter(port: number, cmd: string, timeoutMs = 2000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const close = () => {
    try {
      conn.close();
    } catch {
      // Closed by the server, or by the timer.
    }
  };
  const timer = setTimeout(close, timeoutMs);
  let out = "";
  try {
    await conn.write(new TextEncoder().encode(cmd));
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return out;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch (err) {
    if (err instanceof Deno.errors.BadResource) return out;
    throw err;
  } finally {
    clearTimeout(timer);
    close();
  }
}

const CLASSPATH = "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";

export interface ZooKeeperOptions {
  /** ms; sessions are bounded by 2..20 ticks unless min/max are set. Default 200. */
  tickTime?: number;
  minSessionTimeout?: number;
  maxSessionTimeout?: number;
  port?: number;
}

/** A client session playing Aurora's executor (or an operator): it writes the registry. */
export interface TestAnnouncer {
  readonly session: ZkSession;
  /** An ephemeral sequential `member_` under `jobPath` (created if needed); returns its path. */
  announce(jobPath: string, m: MemberSpec): Promise<string>;
  /** A node with raw data, parents included; persistent unless `mode` says otherwise. */
  createNode(path: string, data: string, mode?: number): Promise<string>;
  /** An ephemeral sequential node `<prefix>NNNNNNNNNN` with raw data; returns its path. */
  createSequential(prefix: string, data: string): Promise<string>;
  setData(path: string, data: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Ends the session: its ephemeral nodes disappear. */
  close(): Promise<void>;
}

export interface TestZooKeeper {
  readonly port: number;
  readonly connectString: string;
  readonly dir: string;
  /** Stops the server (its data stays for `start`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /**
   * A connected client session (default: to this server, 10 s session timeout). Closed by
   * `destroy()` if the test has not closed it.
   */
  announcer(opts?: { connectString?: string; sessionTimeoutMs?: number }): Promise<TestAnnouncer>;
  /**
   * The ids of the sessions the server holds now (hex, as `ZkSession.sessionId` gives
   * them): a session gone from here has expired on the server.
   */
  liveSessions(): Promise<string[]>;
  /** Closes the announcers, stops the server and removes its data. */
  destroy(): Promise<void>;
}

/**
 * @example
 * ```ts
 * const zk = await startZooKeeper();
 * // ... connect to zk.connectString ...
 * await zk.destroy();
 * ```
 */
export async function startZooKeeper(opts: ZooKeeperOptions = {}): Promise<TestZooKeeper> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-zk-" });
  const port = opts.port ?? freePort();
  const tick = opts.tickTime ?? 200;
  await Deno.writeTextFile(
    `${dir}/zoo.cfg`,
    [
      `tickTime=${tick}`,
      `dataDir=${dir}/data`,
      `clientPort=${port}`,
      "clientPortAddress=127.0.0.1",
      "admin.enableServer=false",
      "maxClientCnxns=0",
      `minSessionTimeout=${opts.minSessionTimeout ?? tick * 2}`,
      `maxSessionTimeout=${opts.maxSessionTimeout ?? tick * 100}`,
      "4lw.commands.whitelist=*",
    ].join("\n") + "\n",
  );
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command("java", {
      args: [
        "-Xmx256m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Dzookeeper.log.dir=" + dir,
        "-cp",
        CLASSPATH,
        "org.apache.zookeeper.server.ZooKeeperServerMain",
        `${dir}/zoo.cfg`,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port, 30_000);
    // The port opens before the server serves sessions: wait for "imok", then for the
    // data (and the sessions of a previous run) to be loaded.
    await waitFor(
      "ZooKeeper to answer ruok",
      async () => (await fourLetter(port, "ruok")) === "imok",
      30_000,
    );
    await waitFor(
      "ZooKeeper to serve requests",
      async () => (await fourLetter(port, "srvr")).startsWith("Zookeeper version"),
      30_000,
    );
  };
  const stop = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    try {
      c.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await c.status;
  };
  await start();
  const connectString = `127.0.0.1:${port}`;
  const announcers = new Set<ZkSession>();
  return {
    port,
    connectString,
    dir,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    announcer: async (o = {}) => {
      const session = new ZkSession(o.connectString ?? connectString, {
        sessionTimeoutMs: o.sessionTimeoutMs ?? 10_000,
        clock: systemClock,
        logger: memoryLogger(),
      });
      announcers.add(session);
      if (!(await session.waitConnected(10_000))) {
        await session.close();
        throw new Error(`announcer could not connect to ${o.connectString ?? connectString}`);
      }
      return {
        session,
        announce: (jobPath, m) => announce(session, jobPath, m),
        createNode: (path, data, mode) => createNode(session, path, data, mode),
        createSequential: (prefix, data) =>
          createNode(session, prefix, data, zk.CreateMode.EPHEMERAL_SEQUENTIAL),
        setData: (path, data) => session.setData(path, data),
        remove: (path) => session.remove(path),
        close: async () => {
          announcers.delete(session);
          await session.close();
        },
      };
    },
    liveSessions: async () => {
      // `dump` lists the session tracker's sets first, one id per line, then the
      // ephemeral nodes and connections.
      const dump = await fourLetter(port, "dump");
      if (!dump.startsWith("SessionTracker dump:")) {
        throw new Error(`ZooKeeper cannot list its sessions: ${dump.trim()}`);
      }
      const sets = dump.split("ephemeral nodes dump:")[0];
      return [...sets.matchAll(/^\s+0x([0-9a-f]+)\s*$/gm)].map((m) => m[1]);
    },
    destroy: async () => {
      await Promise.all([...announcers].map((a) => a.close()));
      announcers.clear();
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
