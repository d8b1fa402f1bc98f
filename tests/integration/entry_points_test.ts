/**
 * Issue 8 A12: every documented way to start aurproxy, end to end, with the flags the
 * docs and `deno.json` give: the three-process layout (`run --setup`, `nginx -c FILE`,
 * `run`) on a real ZooKeeper, where a member change written with kazoo (the client the
 * original used) must reach nginx. With `deno task run`'s old flags the process could
 * not read /proc/<pid>/stat and never reloaded nginx ("nginx is not running").
 */

import { strictEqual } from "node:assert";
import { startStack } from "../../testing/aurproxy_stack.ts";
import { auroraSource, oneRouteConfig, staticSource } from "../../testing/proxy_config.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { BUNDLE_COMMAND, entryPoints } from "../../testing/entry_points.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const root = new URL("../../", import.meta.url).pathname;

/** Runs one kazoo call (python3-kazoo) against ZooKeeper; returns what it printed. */
async function kazoo(connect: string, code: string): Promise<string> {
  const script = `import sys, json
from kazoo.client import KazooClient
zk = KazooClient(hosts=${JSON.stringify(connect)})
zk.start(timeout=10)
${code}
zk.stop()
`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`kazoo failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout).trim();
}

/** A serverset member as Aurora's announcer writes it; returns the node's path. */
function announce(connect: string, job: string, port: number): Promise<string> {
  const data = JSON.stringify({
    serviceEndpoint: { host: "127.0.0.1", port },
    additionalEndpoints: { http: { host: "127.0.0.1", port } },
    status: "ALIVE",
    shard: 0,
  });
  return kazoo(
    connect,
    `print(zk.create(${JSON.stringify(`${job}/member_`)}, ${
      JSON.stringify(data)
    }.encode(), sequence=True, makepath=True))`,
  );
}

async function servedBy(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await httpGet(port, "/", { timeoutMs: 3000 })).body);
  return seen;
}

Deno.test("entry points: the README's bundle command is the one tested", async () => {
  const readme = await Deno.readTextFile(`${root}README.md`);
  strictEqual(readme.includes(BUNDLE_COMMAND), true, `README does not say ${BUNDLE_COMMAND}`);
});

Deno.test("entry points: run without -A (Deno then refuses every /proc read) exits 2 saying so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-entry-" });
  try {
    const config = JSON.stringify(
      oneRouteConfig({ dir, port: freePort(), sources: [staticSource("web", 1)] }),
    );
    // The flags `deno task run` had.
    const flags = "--allow-net --allow-read --allow-write --allow-run --allow-env --allow-sys";
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...flags.split(" "),
        `${root}main.ts`,
        "run",
        "--management-port=0",
        `--config=${config}`,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    strictEqual(out.code, 2, stderr);
    strictEqual(stderr.includes("--allow-all"), true, stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("entry points: through each documented entry point, a member change in ZooKeeper reaches nginx", async (t) => {
  const zk = await startZooKeeper();
  const backends: TestBackend[] = [];
  try {
    for (const entry of await entryPoints()) {
      await t.step(entry.name, async () => {
        const job = `/aurora/www-data/devel/hello_${backends.length}`;
        const a = await startBackend({ name: "a" });
        const b = await startBackend({ name: "b" });
        backends.push(a, b);
        const memberA = await announce(zk.connectString, job, a.port);
        const dir = await Deno.makeTempDir({ prefix: "aurproxy-entry-" });
        const port = freePort();
        const stack = await startStack({
          dir,
          entryPoint: entry,
          config: oneRouteConfig({
            dir,
            port,
            sources: [{
              ...auroraSource(zk.connectString, "www-data", "devel", job.split("/").at(-1)!),
              announcer_serverset_path: "/aurora",
              endpoint: "http",
            }],
          }),
          proxyPorts: [port],
          flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
        });
        try {
          strictEqual((await httpGet(port, "/")).body, "a", "--setup wrote member a");
          await announce(zk.connectString, job, b.port);
          await kazoo(zk.connectString, `zk.delete(${JSON.stringify(memberA)})`);
          await waitFor(
            "only b serving through nginx",
            async () => {
              const seen = await servedBy(port, 6);
              return seen.size === 1 && seen.has("b");
            },
            15_000,
          ).catch((e) => {
            throw new Error(`${e.message}\naurproxy's log:\n${stack.log()}`);
          });
          strictEqual(stack.log().includes("NotCapable"), false, stack.log());
          strictEqual((await httpGet(stack.mgmtPort, "/health")).body, "OK");
        } finally {
          await stack.stop();
          await Deno.remove(dir, { recursive: true });
        }
      });
    }
  } finally {
    for (const b of backends) await b.close();
    await zk.destroy();
  }
});
