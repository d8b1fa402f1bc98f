/**
 * Nobody but the host's own executor can shut aurproxy down: a registry member pointing
 * at the management port is left out of nginx, lifecycle POSTs come from loopback peers
 * only (unless widened by --management-lifecycle-allow), and a request carrying a foreign
 * Origin (a cross-origin form) or arriving through a proxy is refused. Against the real
 * process, started with `deno task run`'s permission flags, a real nginx and ZooKeeper.
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { nginxKeys } from "../../testing/aurproxy_stack.ts";
import { runAurproxyOk } from "../../testing/aurproxy_command.ts";
import { type AurproxyProcess, spawnAurproxy } from "../../testing/aurproxy_process.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";
import { oneRouteConfig, serverSetSource } from "../../testing/proxy_config.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One HTTP/1.1 request on a fresh connection to `host:port`, with the given headers. */
async function request(
  host: string,
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): Promise<{ status: number; body: string }> {
  const conn = await Deno.connect({ hostname: host, port });
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    const head = Object.entries({
      host: `${host}:${port}`,
      connection: "close",
      "content-length": String(body.length),
      ...headers,
    }).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    await conn.write(new TextEncoder().encode(`${method} ${path} HTTP/1.1\r\n${head}\r\n${body}`));
    let text = "";
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const status = Number(text.split(" ")[1]);
    return { status, body: text.slice(text.indexOf("\r\n\r\n") + 4) };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer or the peer.
    }
  }
}

/** A non-loopback IPv4 address of this machine, to connect from a non-loopback peer. */
function externalAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

/**
 * Another nginx on the host in front of the management port (an operator's own proxy),
 * written by hand: it connects from loopback and says who asked in X-Forwarded-For.
 */
async function startRelay(dir: string, port: number, mgmt: number): Promise<Deno.ChildProcess> {
  await Deno.mkdir(`${dir}/logs`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n` +
      `  access_log off;\n  server {\n    listen ${port};\n` +
      `    location / {\n      proxy_pass http://127.0.0.1:${mgmt};\n` +
      `      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n  }\n}\n`,
  );
  const child = new Deno.Command("nginx", {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    throw err;
  }
  return child;
}

/** True when the process is still running `ms` later. */
async function survives(p: AurproxyProcess, ms = 1500): Promise<boolean> {
  await sleep(ms);
  return p.alive;
}

/** A static-source config (no ZooKeeper) for the lifecycle checks. */
async function staticSetup(dir: string, backendPort: number) {
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify({
      backend: "nginx",
      ...nginxKeys(dir),
      servers: [{
        hosts: ["default"],
        ports: [freePort()],
        routes: [{
          locations: ["/"],
          sources: [{ source_class: "static", name: "web", host: "127.0.0.1", port: backendPort }],
        }],
      }],
    }),
  );
  return configPath;
}

Deno.test("management exposure: a registry member at aurproxy's own management port is left out, counted and reported; a public POST /quitquitquit through nginx does not shut aurproxy down", async () => {
  const zk = await startZooKeeper();
  const backend = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-exposure-" });
  const mgmt = freePort();
  const proxyPort = freePort();
  let proc: AurproxyProcess | undefined;
  let nginx: Awaited<ReturnType<typeof runNginx>> | undefined;
  try {
    const registry = await zk.announcer();
    // A job whose member points at aurproxy's management port (by mistake or on purpose),
    // beside a real one.
    await registry.announce("/sd/web", { host: "127.0.0.1", port: mgmt });
    await registry.announce("/sd/web", { host: "127.0.0.1", port: backend.port });
    const keys = nginxKeys(dir);
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
    const common = [`--management-port=${mgmt}`, `--config=${configPath}`];
    await runAurproxyOk(["run", "--setup", ...common]);
    nginx = await runNginx(nginxOptions(dir), [proxyPort]);
    proc = await spawnAurproxy(["run", ...common]);
    await proc.listening(mgmt);
    const conf = await Deno.readTextFile(keys.configuration_file);
    strictEqual(conf.includes(`127.0.0.1:${backend.port}`), true, conf);

    // The public, through nginx: whichever member nginx picks, aurproxy does not quit.
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push((await httpGet(proxyPort, "/quitquitquit", { method: "POST" })).body.trim());
    }
    strictEqual(
      await survives(proc),
      true,
      `aurproxy quit (answers ${answers}):\n${proc.output()}`,
    );
    strictEqual(answers.every((a) => a === "web"), true, `answers: ${answers}`);
    strictEqual(conf.includes(`server 127.0.0.1:${mgmt}`), false, `rendered:\n${conf}`);

    const metrics = (await httpGet(mgmt, "/metrics")).body;
    strictEqual(
      /aurproxy_endpoints_management_port\{[^}]*pool="primary"[^}]*\} 1\n/.test(metrics),
      true,
      metrics.split("\n").filter((l) => l.includes("endpoints")).join("\n"),
    );
    const status = JSON.parse((await httpGet(mgmt, "/status.json")).body);
    const skipped = status.servers[0].routes[0].skipped;
    strictEqual(skipped.length, 1, JSON.stringify(skipped));
    strictEqual(skipped[0].port, mgmt);
    strictEqual(/management port/.test(skipped[0].reason), true, skipped[0].reason);
    const details = (await httpGet(mgmt, "/health/details")).body;
    strictEqual(details.includes(`127.0.0.1:${mgmt}`), true, details);
    strictEqual(/management port/.test(details), true, details);
    strictEqual(proc.output().includes(`127.0.0.1:${mgmt}`), true, "the log names the member");
    await registry.close();
  } finally {
    await proc?.terminate();
    await nginx?.stop();
    await backend.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("management exposure: lifecycle POSTs from a non-loopback peer, through a proxy, or with a foreign Origin get 403; Aurora's executor's POST to localhost shuts down", async () => {
  const backend = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-exposure-" });
  const mgmt = freePort();
  const relayPort = freePort();
  let proc: AurproxyProcess | undefined;
  let relay: Deno.ChildProcess | undefined;
  try {
    const configPath = await staticSetup(dir, backend.port);
    relay = await startRelay(`${dir}/relay`, relayPort, mgmt);
    proc = await spawnAurproxy([
      "run",
      `--management-port=${mgmt}`,
      "--management-host=0.0.0.0",
      `--config=${configPath}`,
    ]);
    await proc.listening(mgmt);

    const outside = externalAddress();
    if (outside) {
      const r = await request(outside, mgmt, "POST", "/quitquitquit");
      strictEqual(r.status, 403, `from ${outside}: ${r.status} ${r.body}`);
      strictEqual(r.body.includes("--management-lifecycle-allow"), true, r.body);
      strictEqual((await request(outside, mgmt, "POST", "/abortabortabort")).status, 403);
      // /health is open to every peer (its body says whether nginx runs: none here).
      const far = await request(outside, mgmt, "GET", "/health");
      strictEqual(far.status, 200);
      // The same verdict as from loopback (the reason's details may change in between).
      const verdict = (body: string) => body.split(":").slice(0, 2).join(":");
      const near = await request("127.0.0.1", mgmt, "GET", "/health");
      strictEqual(verdict(far.body), verdict(near.body));
      strictEqual(
        far.body.startsWith("Health checks failed: nginx is not running"),
        true,
        far.body,
      );
    } else {
      console.warn("no non-loopback IPv4 address: the peer check from outside is not run");
    }
    const refused: [string, Record<string, string>][] = [
      // A cross-origin HTML form, as a browser sends it.
      ["a cross-origin form", {
        origin: "http://evil.example",
        "content-type": "application/x-www-form-urlencoded",
        "sec-fetch-site": "cross-site",
      }],
      ["Origin: null (a sandboxed or file: page)", { origin: "null" }],
      ["a foreign Origin alone", { origin: "https://intranet.example.com" }],
      ["a cross-site fetch without Origin", { "sec-fetch-site": "cross-site" }],
      ["a proxied request", { "x-forwarded-for": "203.0.113.9" }],
      ["a proxied request (Forwarded)", { forwarded: "for=203.0.113.9" }],
      // A page whose name was rebound to 127.0.0.1: same-origin, still a browser page.
      ["a same-origin page (DNS rebinding)", {
        host: `rebound.example:${mgmt}`,
        origin: `http://rebound.example:${mgmt}`,
      }],
    ];
    for (const [what, headers] of refused) {
      const r = await request("127.0.0.1", mgmt, "POST", "/quitquitquit", headers, "a=b");
      strictEqual(r.status, 403, `${what}: ${r.status} ${r.body}`);
    }
    // Through the other nginx, which connects from loopback: a client elsewhere is
    // refused, also when it claims to be loopback itself.
    const client = outside ?? "127.0.0.1";
    const spoofs: Record<string, string>[] = [
      {},
      { "x-forwarded-for": "127.0.0.1" },
      { "x-forwarded-for": "203.0.113.9" },
    ];
    for (const spoof of spoofs) {
      const r = await request(client, relayPort, "POST", "/quitquitquit", spoof);
      const what = `through the other nginx from ${client} ${JSON.stringify(spoof)}`;
      strictEqual(r.status, 403, `${what}: ${r.status} ${r.body}`);
    }
    strictEqual(await survives(proc, 500), true, `aurproxy quit:\n${proc.output()}`);
    // A foreign Origin is refused on every route (the status page, metrics), not only POSTs.
    strictEqual(
      (await request("127.0.0.1", mgmt, "GET", "/status.json", { origin: "http://evil.example" }))
        .status,
      403,
    );
    // Same-origin (the status page's own origin) is not foreign.
    const same = await request("127.0.0.1", mgmt, "GET", "/health", {
      origin: `http://127.0.0.1:${mgmt}`,
    });
    strictEqual(same.status, 200);

    // Aurora's executor: POST http://localhost:<port>/quitquitquit, no Origin.
    const res = await fetch(`http://localhost:${mgmt}/quitquitquit`, { method: "POST" });
    strictEqual(res.status, 200);
    strictEqual((await res.text()).trim(), "OK");
    const s = await proc.exited;
    strictEqual(s.code, 0, proc.output());
  } finally {
    await proc?.terminate();
    if (relay) {
      relay.kill("SIGTERM");
      await relay.status;
    }
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("management exposure: --management-lifecycle-allow widens the peer check to the given networks", async () => {
  const outside = externalAddress();
  if (!outside) {
    console.warn("no non-loopback IPv4 address: skipped");
    return;
  }
  const backend = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-exposure-" });
  const mgmt = freePort();
  let proc: AurproxyProcess | undefined;
  try {
    const configPath = await staticSetup(dir, backend.port);
    const bad = await spawnAurproxy([
      "run",
      `--management-port=${mgmt}`,
      `--config=${configPath}`,
      "--management-lifecycle-allow=10.0.0.0/33",
    ]);
    const badStatus = await bad.exited;
    strictEqual(badStatus.code, 2, bad.output());
    strictEqual(bad.output().includes("--management-lifecycle-allow"), true, bad.output());

    proc = await spawnAurproxy([
      "run",
      `--management-port=${mgmt}`,
      "--management-host=0.0.0.0",
      `--config=${configPath}`,
      `--management-lifecycle-allow=192.0.2.0/24,${outside}/32`,
    ]);
    await proc.listening(mgmt);
    // Still no foreign Origin, even from an allowed peer.
    const cross = await request(outside, mgmt, "POST", "/quitquitquit", {
      origin: "http://evil.example",
    });
    strictEqual(cross.status, 403);
    const r = await request(outside, mgmt, "POST", "/quitquitquit");
    strictEqual(r.status, 200, `${r.status} ${r.body}`);
    strictEqual((await proc.exited).code, 0, proc.output());
    await waitFor("the port closed", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: mgmt })).close();
        return false;
      } catch {
        return true;
      }
    });
  } finally {
    await proc?.terminate();
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
