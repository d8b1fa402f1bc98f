/**
 * Drop-in compatibility with the original aurproxy (issue 8, B1, B4), through the command
 * line as a user of the original runs it: its configs without `"backend"`, the keys it
 * ignored; and the original's own example and test configs, run through `validate` and a
 * real nginx.
 */
import { ok, strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { serveWithSetup } from "../../testing/cli.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort } from "../../testing/ports.ts";

const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

// deno-lint-ignore no-explicit-any
type Json = any;

const staticSource = (port: number, name = "web") => ({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name,
  host: "127.0.0.1",
  port,
});

Deno.test('compat: a config without "backend" takes --backend (default nginx), as the original', async () => {
  const backend = await startBackend({ name: "web" });
  try {
    const port = freePort();
    const config = {
      servers: [{
        hosts: ["default"],
        ports: [port],
        routes: [{ locations: ["/"], sources: [staticSource(backend.port)] }],
      }],
    };
    const validate = await runAurproxy(["validate", `--config=${JSON.stringify(config)}`]);
    strictEqual(validate.code, 0, validate.stderr);
    strictEqual(validate.stdout.includes("nginx -t: rendered config OK"), true, validate.stdout);
    const explicit = await runAurproxy([
      "validate",
      "--backend=nginx",
      "--skip-nginx-test",
      `--config=${JSON.stringify(config)}`,
    ]);
    strictEqual(explicit.code, 0, explicit.stderr);
    await serveWithSetup(structuredClone(config), port, async () => {
      strictEqual((await httpGet(port, "/")).body, "web");
    });
    for (const cmd of [["validate"], ["render"], ["run", "--setup", "--management-port=1"]]) {
      const other = await runAurproxy([
        ...cmd,
        "--backend=traefik",
        `--config=${JSON.stringify(config)}`,
      ]);
      strictEqual(other.code, 2, cmd.join(" "));
      strictEqual(
        other.stderr.trim(),
        `aurproxy ${cmd[0]}: --backend: unknown backend "traefik"; known: nginx, haproxy`,
      );
    }
    // --backend=haproxy is a backend of its own now: the same config, checked by haproxy -c.
    const haproxy = await runAurproxy([
      "validate",
      "--backend=haproxy",
      `--config=${JSON.stringify(config)}`,
    ]);
    strictEqual(haproxy.code, 0, haproxy.stderr);
    ok(haproxy.stdout.includes("haproxy -c: rendered config OK"), haproxy.stdout);
  } finally {
    await backend.close();
  }
});

Deno.test("compat: keys the original ignored are warnings naming the key; --strict / --strict-config refuse them", async () => {
  const backend = await startBackend({ name: "web" });
  try {
    const port = freePort();
    const config: Json = {
      backend: "nginx",
      servers: [{
        hosts: ["default"],
        ports: [port],
        hostz: ["x"],
        routes: [{
          name: "web",
          template_file: "/etc/aurproxy/route.template",
          location: "/typo",
          locations: ["/"],
          sources: [staticSource(backend.port)],
        }],
      }],
    };
    const text = JSON.stringify(config);
    const warned = [
      'servers[0].hostz: unknown key (did you mean "hosts"?); ignored, as the original did',
      "servers[0].routes[0].name: unknown key; ignored, as the original did",
      "servers[0].routes[0].template_file: unknown key; ignored, as the original did",
      'servers[0].routes[0].location: unknown key (did you mean "locations"?); ignored, as the original did',
    ];
    const v = await runAurproxy(["validate", `--config=${text}`]);
    strictEqual(v.code, 0, v.stderr);
    strictEqual(
      v.stderr.trim(),
      warned.map((w) => `aurproxy validate: warning: ${w}`).join("\n"),
    );
    strictEqual(
      v.stdout.startsWith(
        "config OK: 1 server(s), 1 route(s), 0 stream(s) (4 key(s) ignored, as the original did; --strict refuses them)\n",
      ),
      true,
      v.stdout,
    );
    const strict = await runAurproxy(["validate", "--strict", `--config=${text}`]);
    strictEqual(strict.code, 2);
    strictEqual(
      strict.stderr.trim(),
      warned.map((w) => `aurproxy validate: ${w.replace("; ignored, as the original did", "")}`)
        .join("\n"),
    );
    const strictRun = await runAurproxy([
      "run",
      "--setup",
      "--strict-config",
      "--management-port=1",
      `--config=${text}`,
    ]);
    strictEqual(strictRun.code, 2);
    strictEqual(strictRun.stderr.includes("servers[0].routes[0].name: unknown key"), true);
    // Run logs each one and serves the config.
    const setup = await serveWithSetup(structuredClone(config), port, async () => {
      strictEqual((await httpGet(port, "/")).body, "web");
    });
    for (const w of warned) strictEqual(setup.stderr.includes(`config: ${w}`), true, setup.stderr);

    // Where the original failed (a source's or adjuster's constructor got an unknown
    // keyword), this fails too, warnings or not.
    const bad = structuredClone(config);
    bad.servers[0].routes[0].sources = [{
      source_class: "tellapart.aurproxy.source.AuroraProxySource",
      role: "r",
      environment: "e",
      job: "j",
      zk_servers: "127.0.0.1:2181",
      zk_server: "x",
    }];
    const refused = await runAurproxy(["validate", `--config=${JSON.stringify(bad)}`]);
    strictEqual(refused.code, 2);
    strictEqual(
      refused.stderr.includes(
        'aurproxy validate: servers[0].routes[0].sources[0].zk_server: unknown key (did you mean "zk_servers"?)',
      ),
      true,
      refused.stderr,
    );
  } finally {
    await backend.close();
  }
});

/** The original's own configs, with nginx's files moved into a temp dir and a free port. */
function originals(port: number, backendPort: number): [string, Json][] {
  const helloWorld = fixture("original_hello_world.json");
  const quickstart = fixture("seed_quickstart.json");
  const full = fixture("seed_full.json");
  // Its tests' configs (aurproxytest/backends/backend.py), with a StaticProxySource in
  // place of the test-only TstSource; the original ignored the keys it did not know.
  const routeServer = {
    servers: [{
      ports: [port],
      routes: [{
        locations: ["/"],
        sources: [{ ...staticSource(backendPort, "testsource"), initial_endpoints: [] }],
      }],
    }],
  };
  const streamServer = {
    servers: [{ ports: [port], streams: [{ sources: [staticSource(backendPort, "testsource")] }] }],
  };
  for (const c of [helloWorld, quickstart, full]) c.servers[0].ports = [port];
  return [
    ["examples/aurproxy_hello_world.aur", helloWorld],
    ["README quick start", quickstart],
    ["README full example", full],
    ["tests: route server", routeServer],
    ["tests: stream server", streamServer],
  ];
}

Deno.test("compat: the original's example and test configs pass validate and run in a real nginx", async () => {
  const backend: TestBackend = await startBackend({ name: "web" });
  try {
    const port = freePort();
    for (const [name, config] of originals(port, backend.port)) {
      const v = await runAurproxy(["validate", `--config=${JSON.stringify(config)}`]);
      strictEqual(v.code, 0, `${name}: ${v.stderr}`);
      strictEqual(v.stdout.includes("nginx -t: rendered config OK"), true, name);
      const tcp = config.servers[0].streams !== undefined;
      await serveWithSetup(config, port, async () => {
        if (tcp) {
          const conn = await Deno.connect({ port });
          await conn.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
          const body = await new Response(conn.readable).text();
          strictEqual(body.endsWith("web"), true, `${name}: ${body}`);
          return;
        }
        const r = await httpGet(port, "/");
        // Static sources answer; Aurora sources have no ZooKeeper here: the original's
        // empty-route answer.
        const aurora = JSON.stringify(config).includes("AuroraProxySource");
        strictEqual(r.status, aurora ? 503 : 200, `${name}: ${r.status} ${r.body}`);
        if (!aurora) strictEqual(r.body, "web");
        strictEqual((await httpGet(port, "/health")).status, aurora ? 403 : 200, name);
      });
    }
  } finally {
    await backend.close();
  }
});
