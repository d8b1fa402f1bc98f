/**
 * Observability of `aurproxy run` as an operator runs it (main.ts under --allow-all, as the
 * entry points run), beside a real nginx with `stats_port` and a real ZooKeeper: /metrics
 * judged by promtool and a strict OpenMetrics parser with every feature on, nginx's
 * stub_status under the original's names, a publisher and Sentry talking to local
 * receivers in their real wire formats; and each receiver failing while a member change
 * still reaches nginx.
 */
import { spawnAurproxy } from "../../testing/aurproxy_process.ts";
import { strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { openMetricsCheck, promtoolCheck } from "../../testing/metrics_checks.ts";
import { runNginx, type RunningNginx } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";
import {
  startLibratoReceiver,
  startOpenTsdbReceiver,
  startSentryReceiver,
  startStatsdReceiver,
} from "../../testing/receivers.ts";
import { FAKE_GOR_PATH } from "../../testing/fake_gor.ts";
import { startZooKeeper, type TestAnnouncer, type TestZooKeeper } from "../../testing/zookeeper.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const VERSION: string = JSON.parse(
  await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
).version;
const JOB = "/aurora/www-data/devel/web";

interface Running {
  readonly mgmt: number;
  readonly proxyPort: number;
  readonly nginx: RunningNginx;
  readonly proc: Deno.ChildProcess;
  log(): string;
  /** /quitquitquit; resolves with the exit code and how long the shutdown took (ms). */
  quit(): Promise<{ code: number; ms: number }>;
  cleanup(): Promise<void>;
}

interface RunOptions {
  readonly env?: Record<string, string>;
  /**
   * Start nginx only once aurproxy has logged a failed update (nginx not running): an
   * ERROR for Sentry before anything else happens.
   */
  readonly lateNginx?: boolean;
}

async function startRun(zk: TestZooKeeper, flags: string[], o: RunOptions = {}): Promise<Running> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-obs-cli-" });
  const proxyPort = freePort();
  const statsPort = freePort();
  const mgmt = freePort();
  const config = JSON.stringify({
    backend: "nginx",
    configuration_file: `${dir}/conf/nginx.conf`,
    nginx_pid_path: `${dir}/nginx.pid`,
    nginx_prefix: dir,
    stats_port: statsPort,
    servers: [{
      hosts: ["default"],
      ports: [proxyPort],
      context: { default_server: "True" },
      routes: [{
        locations: ["/"],
        empty_endpoint_status_code: 503,
        sources: [{
          source_class: "tellapart.aurproxy.source.AuroraProxySource",
          zk_servers: zk.connectString,
          role: "www-data",
          environment: "devel",
          job: "web",
        }],
      }],
    }],
  });
  const common = [`--management-port=${mgmt}`, "--management-host=127.0.0.1", `--config=${config}`];
  const cmd = (args: string[], io: "piped" | "null") =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, ...args],
      stdin: "null",
      stdout: io,
      stderr: io,
      env: { NO_COLOR: "1", ...o.env },
    });
  const setup = await cmd(["run", "--setup", ...common], "piped").output();
  if (!setup.success) throw new Error(`setup failed: ${new TextDecoder().decode(setup.stderr)}`);
  const startNginx = () =>
    runNginx({
      configurationFile: `${dir}/conf/nginx.conf`,
      pidPath: `${dir}/nginx.pid`,
      binary: "nginx",
      prefix: dir,
    }, [proxyPort, statsPort]);
  let nginx = o.lateNginx ? undefined : await startNginx();
  const proc = cmd(
    ["run", "--max-update-frequency=0", "--update-period=0.5", ...common, ...flags],
    "piped",
  )
    .spawn();
  let text = "";
  const dec = new TextDecoder();
  const drain = (s: ReadableStream<Uint8Array>) =>
    (async () => {
      for await (const c of s) text += dec.decode(c);
    })();
  const drained = Promise.all([drain(proc.stdout), drain(proc.stderr)]);
  const kill = async () => {
    try {
      proc.kill("SIGKILL");
    } catch {
      // Exited.
    }
    await proc.status;
    await drained;
  };
  try {
    await waitForPort(mgmt, 30_000);
    if (!nginx) {
      await waitFor("a failed update", () => text.includes("proxy update failed"), 20_000);
      nginx = await startNginx();
    }
  } catch (e) {
    await kill();
    await nginx?.stop();
    throw new Error(`${e}\n${text}`);
  }
  const running = nginx;
  return {
    mgmt,
    proxyPort,
    nginx: running,
    proc,
    log: () => text,
    quit: async () => {
      const t0 = performance.now();
      await httpGet(mgmt, "/quitquitquit", { method: "POST" });
      const status = await Promise.race([
        proc.status,
        new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
      ]);
      await drained;
      return { code: status?.code ?? -1, ms: performance.now() - t0 };
    },
    cleanup: async () => {
      await kill();
      await running.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function servedBy(port: number, name: string): Promise<boolean> {
  try {
    return (await httpGet(port, "/")).body === name;
  } catch {
    return false;
  }
}

async function scrape(mgmt: number, accept?: string) {
  const res = await fetch(`http://127.0.0.1:${mgmt}/metrics`, {
    headers: accept ? { accept } : {},
  });
  return { type: res.headers.get("content-type") ?? "", body: await res.text() };
}

const json = async (mgmt: number) =>
  JSON.parse((await httpGet(mgmt, "/metrics.json")).body) as Record<string, number>;

/** A member appears in ZooKeeper; resolves once nginx serves it. */
async function memberReachesNginx(ann: TestAnnouncer, b: TestBackend, proxyPort: number) {
  await ann.announce(JOB, { host: "127.0.0.1", port: b.port });
  await waitFor(`${b.name} served through nginx`, () => servedBy(proxyPort, b.name), 20_000);
}

Deno.test("run, every feature on: /metrics passes promtool and OpenMetrics; stub_status, build info, process and histograms; Librato gets the original's names at shutdown; Sentry gets the ERROR", async () => {
  const zk = await startZooKeeper();
  const librato = startLibratoReceiver("ops@example.com", "t0ken");
  const sentry = startSentryReceiver();
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  let r: Running | undefined;
  try {
    r = await startRun(zk, [
      "--metric-publisher-class=tellapart.aurproxy.metrics.publisher.LibratoMetricPublisher",
      "--metric-publisher-arg=api_user=ops@example.com",
      "--metric-publisher-arg=api_token=t0ken",
      "--metric-publisher-arg=source=devel.web",
      // Longer than the test: the one POST is the last period, flushed at shutdown.
      "--metric-publisher-arg=period=600",
      `--metric-publisher-arg=api_url=${librato.url}`,
      `--sentry-dsn=gevent+${sentry.dsn}`,
      "--log-format=json",
    ], { env: { SENTRY_ENVIRONMENT: "staging" } });
    const ann = await zk.announcer();
    await memberReachesNginx(ann, a, r.proxyPort);
    for (let i = 0; i < 5; i++) await httpGet(r.proxyPort, "/");
    await memberReachesNginx(ann, b, r.proxyPort);

    const prom = await scrape(r.mgmt);
    strictEqual(prom.type, "text/plain; version=0.0.4; charset=utf-8");
    const lint = await promtoolCheck(prom.body);
    strictEqual(lint.ok, true, `promtool:\n${lint.output}\n${prom.body}`);
    for (
      const want of [
        `aurproxy_build_info{deno="${Deno.version.deno}",version="${VERSION}"} 1`,
        'aurproxy_nginx_connections{state="active"} ',
        'aurproxy_nginx_connections{state="waiting"} ',
        "# TYPE aurproxy_nginx_requests_total counter",
        "# TYPE aurproxy_nginx_accepted_connections_total counter",
        "# TYPE aurproxy_nginx_handled_connections_total counter",
        "aurproxy_nginx_stats_up 1",
        "# TYPE process_cpu_seconds_total counter",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_start_time_seconds ",
        "# TYPE aurproxy_apply_duration_seconds histogram",
        "# TYPE aurproxy_discovery_to_apply_seconds histogram",
        "# TYPE aurproxy_zk_session_expirations_total counter",
        'aurproxy_metric_publishes_total{publisher="librato",result="failed"} 0',
      ]
    ) strictEqual(prom.body.includes(want), true, `${want}\n${prom.body}`);
    const requests = Number(/^aurproxy_nginx_requests_total (\d+)$/m.exec(prom.body)?.[1]);
    strictEqual(requests >= 6, true, `nginx counted the requests: ${requests}`);
    // Observed once the reload is confirmed, which can come after nginx already serves b.
    const latencies = async () =>
      Number(
        /^aurproxy_discovery_to_apply_seconds_count (\d+)$/m.exec((await scrape(r!.mgmt)).body)
          ?.[1],
      );
    await waitFor("each member's event to its reload observed", async () => await latencies() >= 2);

    const om = await scrape(r.mgmt, "application/openmetrics-text;version=1.0.0,text/plain;q=0.5");
    strictEqual(om.type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    const parsed = await openMetricsCheck(om.body);
    strictEqual(parsed.ok, true, `OpenMetrics:\n${parsed.output}\n${om.body}`);
    const head = await fetch(`http://127.0.0.1:${r.mgmt}/metrics`, { method: "HEAD" });
    await head.body?.cancel();
    strictEqual(head.status, 200);
    strictEqual(head.headers.get("content-type"), prom.type);

    const j = await json(r.mgmt);
    strictEqual(j["aurproxy.update_attempted"] >= 2, true);
    strictEqual(j["aurproxy.update_succeeded"] >= 2, true);
    strictEqual(j["aurproxy.proxy.total_requests"] >= 6, true, JSON.stringify(j));
    for (
      const k of [
        "active_connections",
        "total_accepts",
        "total_handled",
        "reading",
        "writing",
        "waiting",
      ]
    ) {
      strictEqual(typeof j[`aurproxy.proxy.${k}`], "number", k);
    }

    // nginx goes away: polls fail (counted, never fatal) and the next update's reload
    // fails, an ERROR that Sentry receives.
    await r.nginx.stop();
    const c = await startBackend({ name: "c" });
    await ann.announce(JOB, { host: "127.0.0.1", port: c.port });
    await waitFor(
      "Sentry to receive the ERROR",
      () => sentry.events().some((e) => String(JSON.stringify(e)).includes("proxy update failed")),
      20_000,
    );
    const after = await json(r.mgmt);
    strictEqual(after["aurproxy.nginx_stats_poll_failures"] >= 1, true);
    strictEqual(after["aurproxy.nginx_stats_up"], 0);
    strictEqual((await scrape(r.mgmt)).body.includes("aurproxy_nginx_stats_up 0"), true);
    const event = sentry.events().find((e) => JSON.stringify(e).includes("proxy update failed"))!;
    strictEqual(event.release, `aurproxy@${VERSION}`);
    strictEqual(event.environment, "staging");
    strictEqual(event.level, "error");
    strictEqual(sentry.bad.length, 0, sentry.bad.join("\n"));

    strictEqual(librato.posts.length, 0, "period 600: nothing before shutdown");
    const { code } = await r.quit();
    strictEqual(code, 0, r.log());
    strictEqual(librato.posts.length, 1, "the last period, flushed at shutdown");
    strictEqual(librato.rejected.length, 0, librato.rejected.join("\n"));
    const names = new Map(
      [...librato.posts[0].gauges, ...librato.posts[0].counters].map((m) => [m.name, m]),
    );
    strictEqual((names.get("aurproxy.update_attempted")?.value ?? 0) >= 3, true);
    strictEqual(names.get("aurproxy.update_attempted")?.source, "devel.web");
    strictEqual(names.get("aurproxy.proxy.total_requests")?.type, "counter");
    strictEqual(names.get("aurproxy.proxy.active_connections")?.type, "gauge");
    // JSON logs: one object a line, the change lines among them.
    const lines = r.log().split("\n").filter(Boolean);
    const objects = lines.map((l) => JSON.parse(l));
    strictEqual(
      objects.some((o) =>
        o.logger === "aurproxy.changes" && String(o.message).includes(`+127.0.0.1:${b.port}`)
      ),
      true,
      r.log(),
    );
    strictEqual(objects.every((o) => o.time && o.level && "logger" in o && o.message), true);
    await c.close();
  } finally {
    await r?.cleanup();
    await a.close();
    await b.close();
    await librato.close();
    await sentry.close();
    await zk.destroy();
  }
});

Deno.test("run with failing receivers: OpenTSDB refusing and Sentry hanging, or Librato hanging and Sentry refusing; members still reach nginx, failures are counted, shutdown is bounded", async () => {
  const zk = await startZooKeeper();
  const hung = startSentryReceiver();
  hung.mode = "hang";
  const librato = startLibratoReceiver("u", "t");
  librato.mode = "hang";
  const tsdb = startOpenTsdbReceiver();
  tsdb.close(); // refused from now on
  const backends: TestBackend[] = [];
  const runs: Running[] = [];
  try {
    const cases = [
      {
        publisher: "opentsdb",
        flags: [
          "--metric-publisher-class=tellapart.aurproxy.metrics.publisher.OpenTSDBMetricPublisher",
          "--metric-publisher-arg=prefix=apps.",
          "--metric-publisher-arg=host=127.0.0.1",
          `--metric-publisher-arg=port=${tsdb.port}`,
          "--metric-publisher-arg=source=devel.web.",
          "--metric-publisher-arg=period=0.5",
          `--sentry-dsn=${hung.dsn}`,
        ],
      },
      {
        publisher: "librato",
        flags: [
          "--metric-publisher-class=LibratoMetricPublisher",
          "--metric-publisher-arg=api_user=u",
          "--metric-publisher-arg=api_token=t",
          "--metric-publisher-arg=source=s",
          "--metric-publisher-arg=period=0.5",
          `--metric-publisher-arg=api_url=${librato.url}`,
          `--sentry-dsn=http://k@127.0.0.1:${freePort()}/1`,
        ],
      },
    ];
    for (const [i, c] of cases.entries()) {
      // nginx starts late: the first update's ERROR goes to the unreachable Sentry.
      const r = await startRun(zk, c.flags, { lateNginx: true });
      runs.push(r);
      // Earlier cases' members are there too: wait for this run's first apply.
      const ann = await zk.announcer();
      const b = await startBackend({ name: `m${i}` });
      backends.push(b);
      await waitFor(
        `${c.publisher}: a failed publish`,
        async () =>
          ((await json(r.mgmt))[
            `aurproxy.metric_publishes.publisher.${c.publisher}.result.failed`
          ] ?? 0) >= 1,
        20_000,
      );
      await memberReachesNginx(ann, b, r.proxyPort);
      strictEqual((await httpGet(r.mgmt, "/health")).body, "OK");
      const { code, ms } = await r.quit();
      strictEqual(code, 0, r.log());
      // Bounded: the last publish (3 s), Sentry's flush (2 s), the rest.
      strictEqual(ms < 12_000, true, `${c.publisher}: shutdown took ${ms} ms\n${r.log()}`);
      strictEqual(r.log().includes("publishing metrics failed; trying again next period"), true);
      strictEqual(librato.requests >= (c.publisher === "librato" ? 1 : 0), true);
      await ann.close();
    }
    strictEqual(hung.requests >= 1, true, "the SDK did try the hanging Sentry");
  } finally {
    for (const r of runs) await r.cleanup();
    for (const b of backends) await b.close();
    await hung.close();
    await librato.close();
    await zk.destroy();
  }
});

Deno.test("run_replay with deno task run's permissions: the StatsD publisher sends its metrics under the dotted names; /metrics passes promtool", async () => {
  const statsd = await startStatsdReceiver();
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-obs-replay-" });
  const mgmt = freePort();
  const proc = await spawnAurproxy([
    "run_replay",
    `--management-port=${mgmt}`,
    "--management-host=127.0.0.1",
    "--replay-port=12346",
    `--replay-source=${
      JSON.stringify({ source_class: "static", name: "t", host: "127.0.0.1", port: 8082 })
    }`,
    "--replay-max-qps=50",
    `--replay-pid-path=${dir}/pid`,
    `--replay-command-path=${dir}/dynamic.sh`,
    `--gor-path=${FAKE_GOR_PATH}`,
    "--metric-publisher-class=StatsdMetricPublisher",
    `--metric-publisher-arg=port=${statsd.port}`,
    "--metric-publisher-arg=prefix=apps.",
    "--metric-publisher-arg=period=0.2",
  ]);
  try {
    await waitForPort(mgmt, 30_000);
    await waitFor(
      "the replay's metrics over UDP",
      () =>
        statsd.lines.some((l) =>
          l.name === "apps.aurproxy.mirror_targets" && l.type === "g" && l.value === 1
        ) &&
        statsd.lines.some((l) =>
          l.name === "apps.aurproxy.mirror_updates.result.ok" && l.type === "c"
        ),
      20_000,
    );
    strictEqual(statsd.bad.length, 0, statsd.bad.join("\n"));
    const prom = await scrape(mgmt);
    const lint = await promtoolCheck(prom.body);
    strictEqual(lint.ok, true, `${lint.output}\n${prom.body}`);
    strictEqual(prom.body.includes("process_resident_memory_bytes"), true);
    strictEqual(
      prom.body.includes(`aurproxy_build_info{deno="${Deno.version.deno}",version="${VERSION}"} 1`),
      true,
    );
    strictEqual((await json(mgmt))["aurproxy.mirror_targets"], 1);
    await httpGet(mgmt, "/quitquitquit", { method: "POST" });
    strictEqual((await proc.exited).code, 0);
  } finally {
    await proc.stop();
    await statsd.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
