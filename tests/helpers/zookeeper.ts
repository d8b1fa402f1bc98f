/**
 * A real ZooKeeper (Debian's package) for tests and the demo: standalone server in a temp
 * dir on a free loopback port. `restart()` keeps the data dir and port, so persistent
 * nodes survive and sessions can be tested across an outage.
 *
 * @module
 */

import { freePort, waitFor, waitForPort } from "./ports.ts";

/** Sends a four-letter command and returns the answer. */
export async function fourLetter(port: number, cmd: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(cmd));
    let out = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return out;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    try {
      conn.close();
    } catch {
      // Closed by the server.
    }
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

export interface TestZooKeeper {
  readonly port: number;
  readonly connectString: string;
  readonly dir: string;
  /** Stops the server (its data stays for `start`). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
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
    // The port opens before the server serves sessions: wait for "imok".
    await waitFor(
      "ZooKeeper to answer ruok",
      async () => (await fourLetter(port, "ruok")) === "imok",
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
  return {
    port,
    connectString: `127.0.0.1:${port}`,
    dir,
    stop,
    start,
    destroy: async () => {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
