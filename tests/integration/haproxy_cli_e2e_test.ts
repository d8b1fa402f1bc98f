/**
 * `"backend": "haproxy"` end to end through the CLI: a real ZooKeeper, `aurproxy run
 * --supervise` (HAProxy as its child), real backends. Members announced in the registry
 * reach traffic through HAProxy's runtime API without a reload (the master and worker
 * pids stay); a member whose session ends leaves; each request's access log line is on
 * aurproxy's stdout; quitting stops HAProxy.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { MasterCli } from "../../lib/backends/haproxy/master_cli.ts";
import { whyNotOurMaster } from "../../lib/backends/haproxy/reload.ts";
import { signalGroup } from "../../lib/process/group.ts";
import { startBackend } from "../../testing/backend.ts";
import { runAurproxy, startAurproxy } from "../../testing/aurproxy_process.ts";
import { httpGet } from "../../testing/http.ts";
import { promtoolCheck } from "../../testing/metrics_checks.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

async function servedBy(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await httpGet(port, "/")).body);
  return seen;
}

Deno.test("haproxy e2e: run --supervise with a ZooKeeper source; joins and leaves reach HAProxy without a reload", async () => {
  const zk = await startZooKeeper();
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-haproxy-e2e-" });
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const mgmt = freePort();
  try {
    const registry = await zk.announcer();
    await registry.announce("/sd/web", { host: "127.0.0.1", port: a.port });
    const config = {
      backend: "haproxy",
      configuration_file: `${dir}/haproxy.cfg`,
      servers: [{
        hosts: ["default"],
        ports: [port],
        routes: [{
          locations: ["/"],
          empty_endpoint_status_code: 503,
          sources: [{
            source_class: "serverset",
            zk_servers: zk.connectString,
            path: "/sd/web",
          }],
        }],
      }],
    };
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const p = await startAurproxy(mgmt, [
      `--config=${dir}/config.json`,
      "--supervise",
      "--max-update-frequency=0",
    ]);
    try {
      await waitFor("a serves", async () => (await servedBy(port, 2)).has("a"));
      const master = new MasterCli({ socketPath: `${dir}/haproxy-master.sock` });
      const pids = async () => {
        const p = await master.showProc();
        return [p.master.pid, p.workers.map((w) => w.pid)];
      };
      const before = await pids();
      const member = await (await zk.announcer()).announce("/sd/web", {
        host: "127.0.0.1",
        port: b.port,
      });
      ok(member);
      await waitFor("b serves", async () => (await servedBy(port, 6)).has("b"));
      deepStrictEqual(await pids(), before, "joined without a reload");
      // HAProxy's access log reaches aurproxy's stdout, as nginx's does under --supervise.
      await httpGet(port, "/logged-request");
      await waitFor(
        "the request's log line on aurproxy's stdout",
        () =>
          Promise.resolve(
            p.output().split("\n").some((l) =>
              l.includes("GET /logged-request") && l.includes("http_")
            ),
          ),
      );
      await registry.close();
      await waitFor("a left", async () => {
        const seen = await servedBy(port, 6);
        return seen.size === 1 && seen.has("b");
      });
      deepStrictEqual(await pids(), before, "left without a reload");
      const metrics = await p.metrics();
      ok(metrics["aurproxy.haproxy_runtime_changes"] >= 2, JSON.stringify(metrics));
      strictEqual(metrics["aurproxy.reloads"], 0, "no reload at all");
      const served = Object.entries(metrics).filter(([k]) =>
        k.startsWith("aurproxy.haproxy_responses.code.2xx.kind.frontend")
      );
      ok(served.length === 1 && served[0][1] > 0, "HAProxy's own counters exposed");
      const scrape = await (await fetch(`http://127.0.0.1:${mgmt}/metrics`)).text();
      ok(/^aurproxy_haproxy_sessions_total\{/m.test(scrape), scrape);
      const lint = await promtoolCheck(scrape);
      ok(lint.ok, lint.output);
      ok(p.alive);
      const health = await p.healthDetails();
      ok(!/failed/i.test(health.split("\n")[0]), health);
      const status = await (await fetch(`http://127.0.0.1:${mgmt}/status.json`)).json();
      ok(JSON.stringify(status).includes(`"port":${b.port}`), "/status.json shows the member");
      // SIGHUP with a changed config: the new graph's backend adopts the running HAProxy
      // (same master) and reloads it for the new structure.
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({
          ...config,
          servers: [{
            ...config.servers[0],
            routes: [{ ...config.servers[0].routes[0], locations: ["/", "/extra/"] }],
          }],
        }),
      );
      p.kill("SIGHUP");
      await waitFor("reloaded for the new config", async () => {
        const now = await pids();
        return now[0] === before[0] && String(now[1]) !== String(before[1]);
      }, 20_000).catch((e) => {
        throw new Error(`${e.message}\n${p.log().split("\n").slice(-30).join("\n")}`);
      });
      strictEqual((await httpGet(port, "/extra/x")).body, "b");
      // A SIGHUP config HAProxy refuses (haproxy -c) is not applied; the running graph
      // keeps its HAProxy: still reported, still stopped at exit.
      const running = await pids();
      await Deno.writeTextFile(
        `${dir}/config.json`,
        JSON.stringify({ ...config, context: { user: "no-such-user-aurproxy" } }),
      );
      p.kill("SIGHUP");
      await p.waitForLine("refuses the config it renders");
      const kept = await (await fetch(`http://127.0.0.1:${mgmt}/status.json`)).json();
      deepStrictEqual([kept.proxy?.backend, kept.proxy?.pid], ["haproxy", running[0]]);
      deepStrictEqual(await pids(), running, "HAProxy untouched");
      strictEqual((await httpGet(port, "/extra/x")).body, "b");
      const exit = await p.quit();
      strictEqual(exit.code, 0, p.log());
      await waitFor("HAProxy stopped", async () => {
        const t = await master.showProc().catch(() => undefined);
        return t === undefined;
      });
    } finally {
      await p.stop();
      // A failed test SIGKILLs aurproxy, which leaves its HAProxy child (its own process
      // group) running: end that group too.
      const pidFile = `${dir}/haproxy.pid`;
      if (whyNotOurMaster(pidFile, `${dir}/haproxy.cfg`) === undefined) {
        signalGroup(Number(Deno.readTextFileSync(pidFile).trim()), "SIGKILL");
      }
    }
  } finally {
    await a.close();
    await b.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("haproxy e2e: validate runs haproxy -c on what the config renders; render prints haproxy.cfg", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-haproxy-validate-" });
  try {
    const config = (context: Record<string, unknown>) =>
      JSON.stringify({
        configuration_file: `${dir}/haproxy.cfg`,
        context,
        servers: [{
          ports: [freePort()],
          routes: [{
            locations: ["/"],
            sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9 }],
          }],
        }],
      });
    const ok0 = await runAurproxy(["validate", "--backend=haproxy", `--config=${config({})}`]);
    strictEqual(ok0.code, 0, ok0.stderr);
    const bad = await runAurproxy([
      "validate",
      "--backend=haproxy",
      `--config=${config({ keepalive_timeout: "lots" })}`,
    ]);
    strictEqual(bad.code, 2, bad.stderr);
    ok(/timeout/.test(bad.stderr + bad.stdout), bad.stderr);
    const refused = await runAurproxy([
      "validate",
      "--backend=haproxy",
      `--config=${config({ gzip: "on" })}`,
    ]);
    strictEqual(refused.code, 2);
    ok(refused.stderr.includes("context.gzip: nginx-only"), refused.stderr);
    const rendered = await runAurproxy(["render", "--backend=haproxy", `--config=${config({})}`]);
    strictEqual(rendered.code, 0, rendered.stderr);
    ok(rendered.stdout.includes("balance leastconn"), rendered.stdout);
    deepStrictEqual([...Deno.readDirSync(dir)], [], "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
