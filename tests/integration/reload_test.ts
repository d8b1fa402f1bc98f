/**
 * SIGHUP (issue 8, A13), with aurproxy and nginx as separate processes as in production:
 * aurproxy survives it, re-reads a `--config` file, runs a valid new config (traffic
 * follows it) and keeps the running one, saying why, for anything else.
 */
import { strictEqual } from "node:assert";
import { startBackend } from "../../testing/backend.ts";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { spawnAurproxy } from "../../testing/aurproxy_process.ts";
import { httpGet } from "../../testing/http.ts";
import { runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";

async function setup(config: unknown) {
  const out = await runAurproxy([
    "run",
    "--setup",
    "--management-port=1",
    `--config=${JSON.stringify(config)}`,
  ]);
  strictEqual(out.code, 0, out.stderr);
}

Deno.test("reload: SIGHUP re-reads the --config file: a valid one runs, anything else keeps the running one", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-reload-" });
  const port = freePort();
  const mgmt = freePort();
  const file = `${dir}/aurproxy.json`;
  const config = (backendPort: number, context: Record<string, unknown> = {}) => ({
    backend: "nginx",
    configuration_file: `${dir}/conf/nginx.conf`,
    nginx_pid_path: `${dir}/nginx.pid`,
    nginx_prefix: dir,
    context,
    servers: [{
      hosts: ["default"],
      ports: [port],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "web", host: "127.0.0.1", port: backendPort }],
      }],
    }],
  });
  await Deno.writeTextFile(file, JSON.stringify(config(a.port)));
  await setup(config(a.port));
  const nginx = await runNginx(
    {
      configurationFile: `${dir}/conf/nginx.conf`,
      pidPath: `${dir}/nginx.pid`,
      binary: "nginx",
      prefix: dir,
    },
    [port],
  );
  const p = await spawnAurproxy([
    "run",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    "--max-update-frequency=0",
    `--config=file://${file}`,
  ]);
  const hup = async (expect: string) => {
    const before = p.log().length;
    p.kill("SIGHUP");
    await waitFor(`"${expect}" logged`, () => {
      const exit = p.exit();
      if (exit) throw new Error(`aurproxy exited (code ${exit.code}) on SIGHUP:\n${p.log()}`);
      return p.log().slice(before).includes(expect);
    });
    strictEqual(p.exit(), undefined, `aurproxy exited on SIGHUP:\n${p.log()}`);
  };
  try {
    await waitForPort(mgmt);
    await waitFor("served by a", async () => (await httpGet(port, "/")).body === "a");

    // A valid new config: the whole pipeline is rebuilt and traffic follows it.
    await Deno.writeTextFile(file, JSON.stringify(config(b.port)));
    await hup(`SIGHUP: now running ${file}`);
    await waitFor("served by b", async () => (await httpGet(port, "/")).body === "b");
    strictEqual((await httpGet(mgmt, "/health")).body, "OK");
    const status = JSON.parse((await httpGet(mgmt, "/status.json")).body);
    strictEqual(status.servers[0].routes[0].endpoints[0].port, b.port, "status follows the reload");

    // The same file again: nothing to do.
    await hup(`SIGHUP: ${file} is unchanged; nothing to do`);

    // Invalid JSON, an invalid config, a config nginx refuses: the running one stays.
    await Deno.writeTextFile(file, "{nope");
    await hup(`SIGHUP: ${file} not applied, keeping the running config: --config: invalid JSON`);
    await Deno.writeTextFile(file, JSON.stringify({ ...config(a.port), servers: [] }));
    await hup("keeping the running config: servers: required, a non-empty list");
    await Deno.writeTextFile(file, JSON.stringify(config(a.port, { worker_connections: "lots" })));
    await hup("refuses the config it renders:");
    strictEqual(p.log().includes('invalid number "lots"'), true, p.log());
    for (let i = 0; i < 5; i++) strictEqual((await httpGet(port, "/")).body, "b");

    const metrics = (await httpGet(mgmt, "/metrics")).body;
    for (
      const [outcome, n] of [["applied", 1], ["unchanged", 1], ["invalid", 2], ["rejected", 1]]
    ) {
      strictEqual(
        metrics.includes(`aurproxy_config_reloads_total{outcome="${outcome}"} ${n}`),
        true,
        `${outcome} ${n}:\n${metrics}`,
      );
    }
    // Counters kept across the swap: the first graph's update is still counted.
    strictEqual(/aurproxy_update_attempts_total [2-9]/.test(metrics), true, metrics);

    strictEqual((await httpGet(mgmt, "/quitquitquit", { method: "POST" })).body, "OK");
    await waitFor("exit", () => p.exit() !== undefined);
    strictEqual(p.exit()?.code, 0, p.log());
    strictEqual(p.log().includes("shutdown complete"), true, p.log());
  } finally {
    await p.stop();
    await nginx.stop();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reload: SIGHUP with inline --config JSON keeps running and says there is no file", async () => {
  const a = await startBackend({ name: "a" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-reload-" });
  const mgmt = freePort();
  const config = {
    backend: "nginx",
    configuration_file: `${dir}/conf/nginx.conf`,
    nginx_pid_path: `${dir}/nginx.pid`,
    nginx_prefix: dir,
    servers: [{
      ports: [freePort()],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: a.port }],
      }],
    }],
  };
  const p = await spawnAurproxy([
    "run",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    `--config=${JSON.stringify(config)}`,
  ]);
  try {
    await waitForPort(mgmt);
    p.kill("SIGHUP");
    await waitFor("logged", () => p.log().includes("SIGHUP: --config is inline JSON"));
    strictEqual(p.exit(), undefined, p.log());
    strictEqual((await httpGet(mgmt, "/health")).status, 200);
    p.kill("SIGTERM");
    await waitFor("exit", () => p.exit() !== undefined);
    strictEqual(p.exit()?.code, 0, p.log());
  } finally {
    await p.stop();
    await a.close();
    await Deno.remove(dir, { recursive: true });
  }
});
