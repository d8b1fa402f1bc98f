/**
 * The command line as an operator uses it, through the single-file bundle (so packaging
 * is tested too; bundled as `deno task bundle` does, see `testing/entry_points.ts`): exit
 * codes, --setup, run beside a real nginx, lifecycle endpoints.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { bundle } from "../../testing/entry_points.ts";
import { runNginx } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";

async function aurproxy(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", await bundle(), ...args],
    cwd: "/tmp",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function spawnAurproxy(...args: string[]) {
  return (async () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", await bundle(), ...args],
      cwd: "/tmp",
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn())();
}

interface Setup {
  dir: string;
  configJson: string;
  proxyPort: number;
  conf: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function setupDir(backendPort: number): Promise<Setup> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-cli-" });
  const proxyPort = freePort();
  const conf = `${dir}/conf/nginx.conf`;
  const configJson = JSON.stringify({
    backend: "nginx",
    configuration_file: conf,
    nginx_pid_path: `${dir}/nginx.pid`,
    nginx_prefix: dir,
    servers: [{
      hosts: ["default"],
      ports: [proxyPort],
      healthcheck_route: "/healthcheck",
      context: { default_server: "True", location_blacklist: ["/health", "/quitquitquit"] },
      routes: [{
        locations: ["/"],
        sources: [{
          source_class: "tellapart.aurproxy.source.StaticProxySource",
          name: "web",
          host: "127.0.0.1",
          port: backendPort,
        }],
      }],
    }],
  });
  return {
    dir,
    configJson,
    proxyPort,
    conf,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("cli: --version and version print deno.json's version and the runtime's, from the bundle away from the checkout", async () => {
  const manifest = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const want = `aurproxy ${manifest.version} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`;
  for (const args of [["--version"], ["version"]]) {
    const r = await aurproxy(...args);
    strictEqual(r.code, 0, r.stderr);
    strictEqual(r.stdout, `${want}\n`, args.join(" "));
    strictEqual(r.stderr, "", args.join(" "));
  }
  strictEqual((await aurproxy("--help")).stdout.includes("aurproxy --version"), true);
  const bad = await aurproxy("version", "--verbose");
  strictEqual(bad.code, 2);
  strictEqual(bad.stderr.trim(), "aurproxy version: --verbose: unknown flag");
});

Deno.test("cli: help, unknown command, usage and config errors exit 2 naming the problem", async () => {
  const help = await aurproxy("--help");
  strictEqual(help.code, 0);
  strictEqual(help.stdout.includes("run "), true);
  strictEqual((await aurproxy()).code, 2);
  const unknown = await aurproxy("frobnicate");
  strictEqual(unknown.code, 2);
  const flag = await aurproxy("run", "--managment-port=1", "--config={}");
  strictEqual(flag.code, 2);
  strictEqual(
    flag.stderr.trim(),
    "aurproxy run: --managment-port: unknown flag (did you mean --management-port?)",
  );
  const bad = await aurproxy(
    "run",
    "--management-port=1",
    '--config={"backend":"nginx","servers":[{"ports":[80]}]}',
  );
  strictEqual(bad.code, 2);
  strictEqual(
    bad.stderr.trim(),
    "aurproxy run: servers[0]: needs routes (HTTP) or streams (TCP), a non-empty list",
  );
  const json = await aurproxy("run", "--management-port=1", "--config={nope");
  strictEqual(json.code, 2);
  strictEqual(
    json.stderr.startsWith("aurproxy run: --config: invalid JSON at line 1, column 2"),
    true,
    json.stderr,
  );
  // Registration flags are checked before anything starts or is written.
  const scratch = await Deno.makeTempDir({ prefix: "aurproxy-cli-" });
  const minimal = {
    backend: "nginx",
    configuration_file: `${scratch}/nginx.conf`,
    servers: [{
      ports: [1],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9 }],
      }],
    }],
  };
  const regArgAlone = await aurproxy(
    "run",
    "--management-port=1",
    `--config=${JSON.stringify(minimal)}`,
    "--registration-arg=region=us-east-1",
  );
  strictEqual(regArgAlone.code, 2);
  strictEqual(
    regArgAlone.stderr.trim(),
    "aurproxy run: --registration-arg: given without --registration-class",
  );
  const jobClass = await aurproxy(
    "run",
    "--management-port=1",
    `--config=${JSON.stringify(minimal)}`,
    "--registration-class=tellapart.aurproxy.register.elb.ElbJobRegisterer",
  );
  strictEqual(jobClass.code, 2);
  strictEqual(jobClass.stderr.includes("--registration-class"), true, jobClass.stderr);
  deepStrictEqual([...Deno.readDirSync(scratch)], [], "nothing written");
  await Deno.remove(scratch, { recursive: true });
  // Sentry and the publishers have landed (tests/integration/observability_cli_test.ts):
  // their flags are checked before anything starts.
  for (
    const [f, why] of [
      ["--sentry-dsn=sentry.example.com/1", "expected http(s)://<public key>"],
      [
        "--metric-publisher-class=tellapart.aurproxy.metrics.publisher.OpenTSDBMetricPublisher",
        "OpenTSDBMetricPublisher needs prefix, host, port, source",
      ],
      ["--metric-publisher-arg=period=60", "given without --metric-publisher-class"],
    ]
  ) {
    const r = await aurproxy("run", "--management-port=1", "--config={}", f);
    strictEqual(r.code, 2, f);
    const flag = f.startsWith("--metric-publisher-class")
      ? "--metric-publisher-arg"
      : f.split("=")[0];
    strictEqual(r.stderr.trim().startsWith(`aurproxy run: ${flag}: ${why}`), true, r.stderr);
  }
  // run_replay and the --mirror-* flags have landed: tests/integration/replay_cli_test.ts.
  // synchronize has landed (tests/integration/synchronize_test.ts); its usage errors exit 2.
  const sync = await aurproxy("synchronize", "--management-port=1");
  strictEqual(sync.code, 2);
  strictEqual(sync.stderr.trim(), "aurproxy synchronize: --management-port: unknown flag");
  const syncMissing = await aurproxy("synchronize");
  strictEqual(syncMissing.code, 2);
  strictEqual(syncMissing.stderr.trim(), "aurproxy synchronize: --registration-source: required");
  const threshold = await aurproxy(
    "run",
    "--management-port=1",
    "--config={}",
    "--update-failure-threshold-seconds=soon",
  );
  strictEqual(threshold.code, 2);
  strictEqual(
    threshold.stderr.includes("--update-failure-threshold-seconds"),
    true,
    threshold.stderr,
  );
  const setupValue = await aurproxy("run", "--setup=maybe", "--management-port=1", "--config={}");
  strictEqual(setupValue.code, 2);
  strictEqual(
    setupValue.stderr.trim(),
    "aurproxy run: --setup: expected no value, true or false, got maybe",
  );
  const missing = await aurproxy("validate", "--config", "/nonexistent/config.json");
  strictEqual(missing.code, 2);
  strictEqual(
    missing.stderr.trim(),
    "aurproxy validate: --config: cannot read /nonexistent/config.json: no such file",
  );
});

Deno.test("cli: run --setup writes a config nginx -t accepts; render and validate print it", async () => {
  const backend = await startBackend({ name: "web" });
  await using s = await setupDir(backend.port);
  try {
    const setup = await aurproxy(
      "run",
      "--setup",
      "--management-port=31325",
      `--config=${s.configJson}`,
    );
    strictEqual(setup.code, 0, setup.stderr);
    const text = await Deno.readTextFile(s.conf);
    strictEqual(text.includes(`server 127.0.0.1:${backend.port} weight=1000`), true);
    const t = await new Deno.Command("nginx", { args: ["-t", "-q", "-p", s.dir, "-c", s.conf] })
      .output();
    strictEqual(t.success, true);
    // A second --setup with the same endpoints changes nothing; job files written for the
    // original spell the flag --setup=True.
    strictEqual(
      (await aurproxy("run", "--setup=True", "--management-port", "1", "--config", s.configJson))
        .code,
      0,
    );
    const render = await aurproxy("render", `--config=${s.configJson}`);
    strictEqual(render.code, 0);
    strictEqual(render.stdout.trim(), text.trim());
    const configFile = `${s.dir}/aurproxy.json`;
    await Deno.writeTextFile(configFile, s.configJson);
    const validate = await aurproxy("validate", "--config", `file://${configFile}`);
    strictEqual(validate.code, 0, validate.stderr);
    strictEqual(
      validate.stdout,
      "config OK: 1 server(s), 1 route(s), 0 stream(s)\nnginx -t: rendered config OK\n",
    );
  } finally {
    await backend.close();
  }
});

Deno.test("cli: run beside nginx serves traffic and the management port; /quitquitquit exits 0", async () => {
  const backend = await startBackend({ name: "web" });
  await using s = await setupDir(backend.port);
  const mgmt = freePort();
  strictEqual(
    (await aurproxy("run", "--setup", "--management-port=1", `--config=${s.configJson}`)).code,
    0,
  );
  const nginx = await runNginx(
    { configurationFile: s.conf, pidPath: `${s.dir}/nginx.pid`, binary: "nginx", prefix: s.dir },
    [s.proxyPort],
  );
  const proc = await spawnAurproxy(
    "run",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    "--max-update-frequency=0",
    `--config=${s.configJson}`,
  );
  const stderr = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const drained = (async () => {
    for (;;) {
      const { value, done } = await stderr.read();
      if (done) return;
      log += value;
    }
  })();
  try {
    await waitForPort(s.proxyPort);
    await waitForPort(mgmt);
    strictEqual((await httpGet(s.proxyPort, "/robots.txt")).body, "web");
    strictEqual((await httpGet(s.proxyPort, "/healthcheck")).status, 200);
    strictEqual(
      (await httpGet(s.proxyPort, "/quitquitquit")).status,
      403,
      "blacklisted on the proxy port",
    );
    const health = await httpGet(mgmt, "/health");
    strictEqual(health.body, "OK");
    await waitFor(
      "first update",
      async () =>
        (await httpGet(mgmt, "/metrics")).body.includes("aurproxy_update_attempts_total 1"),
    );
    const metrics = (await httpGet(mgmt, "/metrics")).body;
    strictEqual(metrics.includes("# TYPE aurproxy_reloads_total counter"), true);
    strictEqual(
      metrics.includes('aurproxy_endpoints_live{pool="primary",upstream="s_default_'),
      true,
    );
    const status = JSON.parse((await httpGet(mgmt, "/status.json")).body);
    strictEqual(status.servers[0].routes[0].endpoints[0].port, backend.port);
    strictEqual((await httpGet(mgmt, "/status")).body.includes(`127.0.0.1:${backend.port}`), true);
    strictEqual((await httpGet(mgmt, "/quitquitquit", { method: "POST" })).body, "OK");
    const exit = await Promise.race([
      proc.status,
      new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
    ]);
    strictEqual(exit?.code, 0, `did not exit cleanly:\n${log}`);
    await drained;
    strictEqual(log.includes("shutdown complete"), true, log);
    // nginx keeps serving: aurproxy going away does not take traffic down.
    strictEqual((await httpGet(s.proxyPort, "/")).body, "web");
  } finally {
    try {
      proc.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await proc.status;
    await drained.catch(() => {});
    await nginx.stop();
    await backend.close();
  }
});

for (
  const [how, stop] of [
    ["SIGTERM", (p: Deno.ChildProcess) => p.kill("SIGTERM")],
    [
      "abortabortabort",
      async (_: Deno.ChildProcess, mgmt: number) =>
        strictEqual((await httpGet(mgmt, "/abortabortabort", { method: "POST" })).body, "OK"),
    ],
  ] as const
) {
  Deno.test(`cli: ${how} runs the shutdown handlers and exits 0, like /quitquitquit`, async () => {
    const backend = await startBackend({ name: "web" });
    await using s = await setupDir(backend.port);
    const mgmt = freePort();
    const proc = await spawnAurproxy(
      "run",
      `--management-port=${mgmt}`,
      "--management-host=127.0.0.1",
      `--config=${s.configJson}`,
    );
    const log = new Response(proc.stderr).text();
    try {
      await waitForPort(mgmt);
      await stop(proc, mgmt);
      strictEqual((await proc.status).code, 0);
      const text = await log;
      strictEqual(text.includes(`shutting down (${how})`), true, text);
      strictEqual(text.includes("shutdown complete"), true, text);
    } finally {
      await proc.stdout.cancel();
      await backend.close();
    }
  });
}

Deno.test("cli: a config error writes nothing; validate checks upstream and stream knobs with nginx -t", async () => {
  await using s = await setupDir(freePort());
  const config = JSON.parse(s.configJson);
  config.servers[0].routes[0].locations = [];
  const bad = await aurproxy(
    "run",
    "--setup",
    "--management-port=1",
    `--config=${JSON.stringify(config)}`,
  );
  strictEqual(bad.code, 2);
  strictEqual(
    bad.stderr.trim(),
    "aurproxy run: servers[0].routes[0].locations: expected a non-empty list of strings, got an empty list",
  );
  strictEqual(await Deno.stat(s.conf).then(() => true, () => false), false, "nothing written");

  // Only rendered inside upstream blocks: validate must still see it.
  const knob = JSON.parse(s.configJson);
  knob.context = { upstream_keepalive: "lots" };
  const v = await aurproxy("validate", `--config=${JSON.stringify(knob)}`);
  // A config nginx refuses is a config error: exit 2 (issue 8, A14).
  strictEqual(v.code, 2);
  strictEqual(
    v.stderr.includes('invalid value "lots" in "keepalive" directive'),
    true,
    v.stderr,
  );
});

Deno.test("cli: registry host names are resolved by aurproxy; one that does not resolve is left out", async () => {
  const backend = await startBackend({ name: "web" });
  await using s = await setupDir(backend.port);
  const config = JSON.parse(s.configJson);
  config.servers[0].routes[0].sources = [
    { source_class: "static", name: "named", host: "localhost", port: backend.port },
    { source_class: "static", name: "gone", host: "no-such-host.invalid", port: 8080 },
  ];
  try {
    const setup = await aurproxy(
      "run",
      "--setup",
      "--management-port=1",
      `--config=${JSON.stringify(config)}`,
    );
    strictEqual(setup.code, 0, setup.stderr);
    strictEqual(setup.stderr.includes("cannot resolve no-such-host.invalid"), true, setup.stderr);
    const text = await Deno.readTextFile(s.conf);
    strictEqual(text.includes(`server 127.0.0.1:${backend.port} weight=1000`), true, text);
    strictEqual(text.includes("host=localhost"), true);
    strictEqual(
      text.includes("# skipped no-such-host.invalid:8080 (primary, src=static.gone)"),
      true,
      text,
    );
    strictEqual(text.includes("server no-such-host.invalid"), false);
    const nginx = await runNginx(
      { configurationFile: s.conf, pidPath: `${s.dir}/nginx.pid`, binary: "nginx", prefix: s.dir },
      [s.proxyPort],
    );
    try {
      for (let i = 0; i < 4; i++) strictEqual((await httpGet(s.proxyPort, "/")).body, "web");
    } finally {
      await nginx.stop();
    }
  } finally {
    await backend.close();
  }
});
