/**
 * The management port cannot be starved or crashed by clients that connect and send
 * nothing, send a header byte every few seconds (slowloris), or send a malformed Host.
 * Against the real process, started with `deno task run`'s permission flags under
 * `prlimit --nofile=256`, with a real nginx and ZooKeeper: it stays up, /health answers,
 * and registry changes keep reaching nginx.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { runAurproxyOk } from "../../testing/aurproxy_command.ts";
import { type AurproxyProcess, spawnAurproxy } from "../../testing/aurproxy_process.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, runNginx, type RunningNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { oneRouteConfig, serverSetSource } from "../../testing/proxy_config.ts";
import { startZooKeeper, type TestAnnouncer, type TestZooKeeper } from "../../testing/zookeeper.ts";

/** The header timeout documented in docs/operations.md (management port). */
const HEADER_TIMEOUT_MS = 5_000;
const NOFILE = 256;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Stack {
  readonly proc: AurproxyProcess;
  readonly mgmt: number;
  readonly proxyPort: number;
  readonly registry: TestAnnouncer;
  readonly backends: TestBackend[];
  close(): Promise<void>;
}

/** ZooKeeper with one member, nginx, and aurproxy at a lowered descriptor limit. */
async function startStack(): Promise<Stack> {
  const zk: TestZooKeeper = await startZooKeeper();
  const backends = [await startBackend({ name: "b1" }), await startBackend({ name: "b2" })];
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-flood-" });
  const mgmt = freePort();
  const proxyPort = freePort();
  const registry = await zk.announcer();
  await registry.announce("/sd/web", { host: "127.0.0.1", port: backends[0].port });
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify(oneRouteConfig({
      dir,
      port: proxyPort,
      defaultServer: true,
      sources: [serverSetSource(zk.connectString, "/sd/web")],
    })),
  );
  const common = [
    `--management-port=${mgmt}`,
    `--config=${configPath}`,
    "--max-update-frequency=0",
  ];
  let nginx: RunningNginx | undefined;
  let proc: AurproxyProcess | undefined;
  const close = async () => {
    await proc?.terminate();
    await nginx?.stop();
    await registry.close();
    for (const b of backends) await b.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await runAurproxyOk(["run", "--setup", ...common]);
    nginx = await runNginx(nginxOptions(dir), [proxyPort]);
    proc = await spawnAurproxy(["run", ...common], { nofile: NOFILE });
    await proc.listening(mgmt);
  } catch (err) {
    await close();
    throw err;
  }
  return { proc, mgmt, proxyPort, registry, backends, close };
}

/** `GET /health` on a new connection, answered within `ms`, or the error. */
async function health(port: number, ms = 2000): Promise<string> {
  try {
    return (await httpGet(port, "/health", { timeoutMs: ms })).body.trim() || "(no answer)";
  } catch (err) {
    return `(failed: ${(err as Error).message})`;
  }
}

/** Descriptors the process holds now. */
function openFds(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** Opens `n` connections; each records when the server closed it. */
async function connectMany(port: number, n: number) {
  const conns: Deno.Conn[] = [];
  const closedAt: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    conns.push(c);
    // A read that ends (EOF or reset) means the server closed the connection.
    (async () => {
      const buf = new Uint8Array(1024);
      try {
        while (await c.read(buf) !== null) { /* an error answer, then EOF */ }
      } catch {
        // Reset, or closed by us below.
      }
      closedAt.push(performance.now() - start);
    })();
  }
  return {
    conns,
    closedAt,
    closeAll: () => {
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Closed already.
        }
      }
    },
  };
}

/** Distinct backends answering through nginx over `tries` requests. */
async function served(port: number, tries = 8): Promise<string> {
  const seen = new Set<string>();
  for (let i = 0; i < tries; i++) {
    seen.add((await httpGet(port, "/", { timeoutMs: 3000 }).catch(() => ({ body: "?" }))).body);
  }
  return [...seen].sort().join(",");
}

Deno.test("management flood: 230 idle connections at --nofile=256 neither crash aurproxy nor starve /health, and registry changes keep reaching nginx", async () => {
  const s = await startStack();
  try {
    strictEqual(await served(s.proxyPort), "b1");
    const before = openFds(s.proc.pid);
    const idle = await connectMany(s.mgmt, 230);
    await sleep(1500);
    strictEqual(s.proc.alive, true, `aurproxy died:\n${s.proc.output()}`);
    const during = await health(s.mgmt);
    strictEqual(s.proc.alive, true, `aurproxy died:\n${s.proc.output()}`);
    strictEqual(during, "OK", "a new client gets /health during the flood");
    const fdsDuring = openFds(s.proc.pid);
    // A registry change while the connections are held reaches nginx.
    await s.registry.announce("/sd/web", { host: "127.0.0.1", port: s.backends[1].port });
    await waitFor(
      "nginx to serve the new member",
      async () => (await served(s.proxyPort)) === "b1,b2",
      20_000,
    ).catch((err) => {
      const tail = s.proc.output().trim().split("\n").slice(-4).join("\n");
      throw new Error(`${err.message}; aurproxy's last lines:\n${tail}`);
    });
    strictEqual(s.proc.alive, true, `aurproxy died:\n${s.proc.output()}`);
    // Every idle connection is closed by the server by the header timeout.
    await waitFor(
      "the server to close every idle connection",
      () => idle.closedAt.length === 230,
      HEADER_TIMEOUT_MS + 5000,
    );
    idle.closeAll();
    strictEqual(await health(s.mgmt), "OK");
    strictEqual(s.proc.output().includes("Too many open files"), false, s.proc.output());
    const after = openFds(s.proc.pid);
    strictEqual(
      after <= before + 5,
      true,
      `descriptors: ${before} before, ${fdsDuring} during, ${after} after`,
    );
    strictEqual(
      fdsDuring <= before + 80,
      true,
      `descriptors: ${before} before, ${fdsDuring} during (cap 64)`,
    );
  } finally {
    await s.close();
  }
});

Deno.test("management flood: slowloris clients (one header byte every 2 s) are closed within the header timeout; /health answers meanwhile", async () => {
  const s = await startStack();
  try {
    const slow = await connectMany(s.mgmt, 100);
    const head = new TextEncoder().encode("GET /health HTTP/1.1\r\nHost: localhost\r\n");
    let sent = 0;
    const drip = setInterval(() => {
      const byte = head.subarray(sent % head.length, sent % head.length + 1);
      sent++;
      for (const c of slow.conns) c.write(byte).catch(() => {});
    }, 2000);
    try {
      await sleep(1000);
      strictEqual(await health(s.mgmt), "OK", "a new client gets /health during the attack");
      await waitFor(
        `every slowloris connection closed (${slow.closedAt.length} of 100 so far)`,
        () => slow.closedAt.length === 100,
        HEADER_TIMEOUT_MS + 4000,
      );
    } finally {
      clearInterval(drip);
      slow.closeAll();
    }
    const last = Math.max(...slow.closedAt);
    strictEqual(
      last <= HEADER_TIMEOUT_MS + 2000,
      true,
      `the last one closed at ${Math.round(last)} ms`,
    );
    strictEqual(s.proc.alive, true, s.proc.output());
    strictEqual(await health(s.mgmt), "OK");
  } finally {
    await s.close();
  }
});

Deno.test("management flood: out of descriptors, accept errors are survived and /health is still answered", async () => {
  const s = await startStack();
  const limit = (n: number) =>
    new Deno.Command("prlimit", { args: [`--pid=${s.proc.pid}`, `--nofile=${n}:`] }).output();
  try {
    // Leave the process 16 descriptors: the management port runs out long before its cap.
    const fds = openFds(s.proc.pid);
    strictEqual((await limit(fds + 16)).success, true);
    const idle = await connectMany(s.mgmt, 100);
    try {
      await sleep(1000);
      strictEqual(s.proc.alive, true, `aurproxy died:\n${s.proc.output()}`);
      const answer = await health(s.mgmt);
      strictEqual(answer, "OK", `/health while out of descriptors:\n${s.proc.output()}`);
      strictEqual(s.proc.alive, true, `aurproxy died:\n${s.proc.output()}`);
    } finally {
      idle.closeAll();
    }
    strictEqual((await limit(NOFILE)).success, true);
    await sleep(300);
    strictEqual(await health(s.mgmt), "OK");
    const metrics = (await httpGet(s.mgmt, "/metrics")).body;
    const errors = Number(/aurproxy_management_accept_errors_total (\d+)/.exec(metrics)?.[1] ?? 0);
    strictEqual(errors > 0, true, "accept errors happened and were counted");
    strictEqual(s.proc.output().includes("Uncaught"), false, s.proc.output());
  } finally {
    await s.close();
  }
});

/** One raw request; the status of the answer (0: none). */
async function rawStatus(port: number, request: string): Promise<number> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(4096);
    const timer = setTimeout(() => c.close(), 3000);
    try {
      for (;;) {
        const n = await c.read(buf).catch(() => null);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
    return Number(text.split(" ")[1] ?? 0);
  } finally {
    try {
      c.close();
    } catch {
      // Closed by the timer or the peer.
    }
  }
}

Deno.test("management flood: a malformed Host gets 400 and no log line; valid spellings are served", async () => {
  const s = await startStack();
  try {
    const linesBefore = s.proc.output().split("\n").length;
    const bad = [
      "exa mple.com",
      "[::1",
      "a:b:c",
      "[zz]:80",
      "h:99999999",
      "a/b",
      "@evil",
      "[1:2:3]",
    ];
    for (let round = 0; round < 3; round++) {
      for (const host of bad) {
        const status = await rawStatus(
          s.mgmt,
          `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        );
        strictEqual(status, 400, `Host ${JSON.stringify(host)}: ${status}`);
      }
    }
    const good = [
      `localhost:${s.mgmt}`,
      `127.0.0.1:${s.mgmt}`,
      `[::1]:${s.mgmt}`,
      "agent1.example.com",
    ];
    for (const host of good) {
      const status = await rawStatus(
        s.mgmt,
        `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      strictEqual(status, 200, `Host ${host}`);
    }
    strictEqual(await rawStatus(s.mgmt, "GET /health HTTP/1.0\r\n\r\n"), 200, "HTTP/1.0, no Host");
    await sleep(300);
    const added = s.proc.output().split("\n").slice(linesBefore - 1).filter((l) => l.trim());
    const errors = added.filter((l) => /management|Invalid URL|Uncaught/.test(l));
    strictEqual(errors.length, 0, `log lines for bad requests:\n${errors.join("\n")}`);
    strictEqual(s.proc.alive, true);
  } finally {
    await s.close();
  }
});
