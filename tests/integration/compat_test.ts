/**
 * Drop-in compatibility with the original aurproxy (issue 8, part B), through the command
 * line as a user of the original runs it and a real nginx: its configs without
 * `"backend"`, the keys it ignored, its prefix `healthcheck_route`, international host
 * names and its access log; and the original's own example configs, run through
 * `validate` and a real nginx.
 */
import { strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function aurproxy(...args: string[]): Promise<Out> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: "/tmp",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** A temp dir holding nginx's files, and the config keys that put them there. */
async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-compat-" });
  return {
    dir,
    conf: `${dir}/conf/nginx.conf`,
    keys: {
      configuration_file: `${dir}/conf/nginx.conf`,
      nginx_pid_path: `${dir}/nginx.pid`,
      nginx_prefix: dir,
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

const staticSource = (port: number, name = "web") => ({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name,
  host: "127.0.0.1",
  port,
});

/** `run --setup` writes the config, nginx runs it; `fn` sends requests. */
async function serve(
  config: Json,
  proxyPort: number,
  fn: () => Promise<void>,
  setupFlags: string[] = [],
): Promise<Out> {
  await using d = await tempDir();
  Object.assign(config, d.keys);
  const setup = await aurproxy(
    "run",
    "--setup",
    "--management-port=1",
    ...setupFlags,
    `--config=${JSON.stringify(config)}`,
  );
  strictEqual(setup.code, 0, setup.stderr);
  const nginx = await runNginx(
    { configurationFile: d.conf, pidPath: `${d.dir}/nginx.pid`, binary: "nginx", prefix: d.dir },
    [proxyPort],
  );
  try {
    await fn();
  } finally {
    await nginx.stop();
  }
  return setup;
}

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
    const validate = await aurproxy("validate", `--config=${JSON.stringify(config)}`);
    strictEqual(validate.code, 0, validate.stderr);
    strictEqual(validate.stdout.includes("nginx -t: rendered config OK"), true, validate.stdout);
    const explicit = await aurproxy(
      "validate",
      "--backend=nginx",
      "--skip-nginx-test",
      `--config=${JSON.stringify(config)}`,
    );
    strictEqual(explicit.code, 0, explicit.stderr);
    await serve(structuredClone(config), port, async () => {
      strictEqual((await httpGet(port, "/")).body, "web");
    });
    for (const cmd of [["validate"], ["render"], ["run", "--setup", "--management-port=1"]]) {
      const other = await aurproxy(
        ...cmd,
        "--backend=haproxy",
        `--config=${JSON.stringify(config)}`,
      );
      strictEqual(other.code, 2, cmd.join(" "));
      strictEqual(
        other.stderr.trim(),
        `aurproxy ${cmd[0]}: --backend: unknown backend "haproxy"; known: nginx`,
      );
    }
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
    const v = await aurproxy("validate", `--config=${text}`);
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
    const strict = await aurproxy("validate", "--strict", `--config=${text}`);
    strictEqual(strict.code, 2);
    strictEqual(
      strict.stderr.trim(),
      warned.map((w) => `aurproxy validate: ${w.replace("; ignored, as the original did", "")}`)
        .join("\n"),
    );
    const strictRun = await aurproxy(
      "run",
      "--setup",
      "--strict-config",
      "--management-port=1",
      `--config=${text}`,
    );
    strictEqual(strictRun.code, 2);
    strictEqual(strictRun.stderr.includes("servers[0].routes[0].name: unknown key"), true);
    // Run logs each one and serves the config.
    const setup = await serve(structuredClone(config), port, async () => {
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
    const refused = await aurproxy("validate", `--config=${JSON.stringify(bad)}`);
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

Deno.test('compat: healthcheck_route is a prefix location, as the original\'s; "= /path" is exact', async () => {
  const backend = await startBackend({ name: "web" });
  try {
    const port = freePort();
    const config = (healthcheck: string) => ({
      backend: "nginx",
      servers: [{
        hosts: ["default"],
        ports: [port],
        healthcheck_route: healthcheck,
        context: { default_server: "True", location_blacklist: ["/health", "/quitquitquit"] },
        routes: [{ locations: ["/"], sources: [staticSource(backend.port)] }],
      }],
    });
    await serve(config("/healthcheck"), port, async () => {
      const answered = (await httpGet(port, "/healthcheck")).status;
      strictEqual(answered, 200);
      const deep = await httpGet(port, "/healthcheck/deep");
      strictEqual(deep.status, 200, "answered by nginx, beside the /health blacklist entry");
      strictEqual(deep.body, "", "nginx's own empty 200, not the backend");
      strictEqual((await httpGet(port, "/health")).status, 403);
      strictEqual((await httpGet(port, "/x")).body, "web");
    });
    await serve(config("= /healthcheck"), port, async () => {
      strictEqual((await httpGet(port, "/healthcheck")).status, 200);
      // Exact: the health location does not answer it; the /health blacklist entry does.
      strictEqual((await httpGet(port, "/healthcheck/deep")).status, 403);
    });
  } finally {
    await backend.close();
  }
});

Deno.test("compat: international host names are served as their IDNA (punycode) server_names", async () => {
  const a = await startBackend({ name: "intl" });
  const b = await startBackend({ name: "other" });
  try {
    const port = freePort();
    const config = {
      backend: "nginx",
      servers: [
        {
          hosts: ["test核.example.com", "*.bücher.de"],
          ports: [port],
          routes: [{ locations: ["/"], sources: [staticSource(a.port, "a")] }],
        },
        {
          hosts: ["default"],
          ports: [port],
          context: { default_server: true },
          routes: [{ locations: ["/"], sources: [staticSource(b.port, "b")] }],
        },
      ],
    };
    const v = await aurproxy("validate", `--config=${JSON.stringify(config)}`);
    strictEqual(v.code, 0, v.stderr);
    const render = await aurproxy("render", `--config=${JSON.stringify(config)}`);
    strictEqual(
      render.stdout.includes("server_name xn--test-jn2i.example.com *.xn--bcher-kva.de;"),
      true,
      render.stdout,
    );
    await serve(config, port, async () => {
      strictEqual((await httpGet(port, "/", { host: "xn--test-jn2i.example.com" })).body, "intl");
      strictEqual((await httpGet(port, "/", { host: "shop.xn--bcher-kva.de" })).body, "intl");
      strictEqual((await httpGet(port, "/", { host: "example.com" })).body, "other");
    });
  } finally {
    await a.close();
    await b.close();
  }
});

/** nginx on `conf`, its stdout collected (where the original's access log goes). */
function nginxWithStdout(d: { dir: string; conf: string }) {
  const text = Deno.readTextFileSync(d.conf);
  // An nginx.conf that says `daemon off;` itself must not get it twice.
  const daemon = /^daemon off;/m.test(text) ? [] : ["-g", "daemon off;"];
  const child = new Deno.Command("nginx", {
    args: ["-p", d.dir, "-c", d.conf, ...daemon],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const drained = Promise.all([
    (async () => {
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
    })(),
    new Response(child.stderr).text(),
  ]);
  return {
    stdout: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

Deno.test("compat: the original's access log is the default again: combined_forwarded_ip to stdout", async () => {
  const backend = await startBackend({ name: "web" });
  try {
    for (
      const [access, expect] of [[undefined, "stdout"], ["off", "none"], ["file", "file"]] as const
    ) {
      await using d = await tempDir();
      const port = freePort();
      const context = access === "file"
        ? { access_log: `${d.dir}/access.log` }
        : access === "off"
        ? { access_log: "off" }
        : {};
      const config = {
        backend: "nginx",
        ...d.keys,
        context,
        servers: [{
          hosts: ["default"],
          ports: [port],
          routes: [{ locations: ["/"], sources: [staticSource(backend.port)] }],
        }],
      };
      const setup = await aurproxy(
        "run",
        "--setup",
        "--management-port=1",
        `--config=${JSON.stringify(config)}`,
      );
      strictEqual(setup.code, 0, setup.stderr);
      const text = await Deno.readTextFile(d.conf);
      strictEqual(
        text.includes(
          `log_format combined_forwarded_ip '$remote_addr ($http_x_forwarded_for) - $remote_user [$time_local]  ` +
            `"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$host" ` +
            `$request_time $upstream_response_time "$upstream_addr" $msec';`,
        ),
        true,
        text,
      );
      const nginx = nginxWithStdout(d);
      try {
        await waitForPort(port);
        strictEqual(
          (await httpGet(port, "/logged?x=1", { host: "logged.example.com" })).body,
          "web",
        );
        // One line per request, in the original's format: client (forwarded-for) - user
        // [time]  "request" status bytes "referer" "agent" "host" time upstream-time "upstream" msec
        const line = new RegExp(
          String
            .raw`^127\.0\.0\.1 \(-\) - - \[[^\]]+\]  "GET /logged\?x=1 HTTP/1\.1" 200 3 "-" "-" ` +
            String
              .raw`"logged\.example\.com" \d+\.\d{3} \d+\.\d{3} "127\.0\.0\.1:${backend.port}" \d+\.\d{3}$`,
          "m",
        );
        if (expect === "stdout") {
          await waitFor("access log line on stdout", () => line.test(nginx.stdout()));
        } else if (expect === "file") {
          await waitFor(
            "access log line in the file",
            () => Deno.readTextFile(`${d.dir}/access.log`).then((t) => line.test(t), () => false),
          );
          strictEqual(nginx.stdout(), "");
        } else {
          await new Promise((r) => setTimeout(r, 300));
          strictEqual(nginx.stdout(), "", "access_log off: nothing logged");
        }
      } finally {
        await nginx.stop();
      }
    }
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
      const v = await aurproxy("validate", `--config=${JSON.stringify(config)}`);
      strictEqual(v.code, 0, `${name}: ${v.stderr}`);
      strictEqual(v.stdout.includes("nginx -t: rendered config OK"), true, name);
      const tcp = config.servers[0].streams !== undefined;
      await serve(config, port, async () => {
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
