/**
 * The local demo of aurproxy's main job, mirroring the original's hello_world walkthrough:
 * a ZooKeeper, sample backends announcing themselves like Aurora's executor, nginx managed
 * by aurproxy. Scripted steps show a backend leaving and a new one joining; then it keeps
 * running (Ctrl-C to stop) unless `--once`.
 *
 * Everything listens on 127.0.0.1, in a temp dir; everything is stopped at the end.
 *
 * @module
 */

import { startZooKeeper } from "../testing/zookeeper.ts";
import { freePort, waitFor, waitForPort } from "../testing/ports.ts";
import { nginxKeys, startStack } from "../testing/aurproxy_stack.ts";

const once = Deno.args.includes("--once");
const root = new URL("../", import.meta.url).pathname;
const deno = Deno.execPath();
const JOB = "/aurora/www-data/devel/hello_world";

const say = (s: string) => console.log(`\n\x1b[1m== ${s}\x1b[0m`);
const children: Deno.ChildProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

function spawn(args: string[], opts: { quiet?: boolean } = {}): Deno.ChildProcess {
  const child = new Deno.Command(deno, {
    args: ["run", "--allow-all", ...args],
    cwd: root,
    stdin: "null",
    stdout: opts.quiet ? "null" : "inherit",
    stderr: opts.quiet ? "null" : "inherit",
  }).spawn();
  children.push(child);
  return child;
}

async function stopChild(c: Deno.ChildProcess, signal: Deno.Signal = "SIGTERM"): Promise<void> {
  try {
    c.kill(signal);
  } catch {
    // Already exited.
  }
  await c.status;
}

async function curl(port: number): Promise<string> {
  const out = await new Deno.Command("curl", { args: ["-s", `http://127.0.0.1:${port}/`] })
    .output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function shards(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const m = /shard (\d+)/.exec(await curl(port));
    if (m) seen.add(m[1]);
  }
  return seen;
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-demo-" });
  cleanups.push(() => Deno.remove(dir, { recursive: true }));

  say("Starting ZooKeeper");
  const zk = await startZooKeeper();
  cleanups.push(() => zk.destroy());
  console.log(`ZooKeeper on ${zk.connectString}`);

  say("Starting 3 hello_world backends that announce themselves like Aurora's executor");
  const backends = new Map<number, Deno.ChildProcess>();
  const startBackend = async (shard: number) => {
    const port = freePort();
    backends.set(
      shard,
      spawn([
        "examples/hello_world.ts",
        `--zk=${zk.connectString}`,
        `--path=${JOB}`,
        `--port=${port}`,
        `--shard=${shard}`,
      ]),
    );
    await waitForPort(port);
  };
  for (const s of [0, 1, 2]) await startBackend(s);

  const proxyPort = freePort();
  const config = {
    backend: "nginx",
    ...nginxKeys(dir),
    servers: [{
      hosts: ["default"],
      ports: [proxyPort],
      healthcheck_route: "/healthcheck",
      context: {
        default_server: "True",
        location_blacklist: ["/health", "/quitquitquit", "/abortabortabort"],
      },
      routes: [{
        locations: ["/"],
        sources: [{
          source_class: "tellapart.aurproxy.source.AuroraProxySource",
          zk_servers: zk.connectString,
          announcer_serverset_path: "/aurora/",
          role: "www-data",
          environment: "devel",
          job: "hello_world",
          endpoint: "http",
          share_adjusters: [{
            share_adjuster_class: "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster",
            route: "/health",
            interval: 1,
            timeout: 0.5,
            unhealthy_threshold: 2,
            healthy_threshold: 1,
          }],
        }],
      }],
    }],
  };

  say("aurproxy run --setup renders nginx.conf, nginx starts on it, aurproxy runs beside it");
  const stack = await startStack({
    dir,
    config,
    proxyPorts: [proxyPort],
    flags: ["--max-update-frequency=1", "--weight-adjustment-delay-seconds=2"],
    verbose: true,
  });
  cleanups.push(() => stack.stop());
  const mgmtPort = stack.mgmtPort;
  await waitFor(
    "all three backends behind nginx",
    async () => (await shards(proxyPort, 12)).size === 3,
    20_000,
  );
  console.log(`$ curl http://127.0.0.1:${proxyPort}/\n${await curl(proxyPort)}`);
  console.log(`shards answering: ${[...await shards(proxyPort, 12)].sort().join(", ")}`);

  say("Backend shard 1 goes away (its ZooKeeper session ends): aurproxy reloads nginx without it");
  await stopChild(backends.get(1)!);
  await waitFor("shard 1 gone", async () => {
    const s = await shards(proxyPort, 12);
    return s.size === 2 && !s.has("1");
  }, 20_000);
  console.log(`shards answering: ${[...await shards(proxyPort, 12)].sort().join(", ")}`);

  say("A new backend, shard 3, announces itself: it joins");
  await startBackend(3);
  await waitFor("shard 3 serving", async () => (await shards(proxyPort, 12)).has("3"), 20_000);
  console.log(`shards answering: ${[...await shards(proxyPort, 12)].sort().join(", ")}`);

  const health = await (await fetch(`http://127.0.0.1:${mgmtPort}/health`)).text();
  console.log(`\nmanagement: http://127.0.0.1:${mgmtPort}/health -> ${health}`);

  if (once) {
    say("Demo done (--once): stopping everything");
  } else {
    say("Running. Try it:");
    console.log(`  curl http://127.0.0.1:${proxyPort}/`);
    console.log(
      `  status page: http://127.0.0.1:${mgmtPort}/status   metrics: http://127.0.0.1:${mgmtPort}/metrics`,
    );
    console.log(`  nginx config: ${config.configuration_file}`);
    console.log("Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", () => resolve());
      Deno.addSignalListener("SIGTERM", () => resolve());
    });
  }
}

let code = 0;
try {
  await main();
} catch (err) {
  console.error(`demo failed: ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  for (const c of children.reverse()) await stopChild(c);
  for (const f of cleanups.reverse()) await f().catch(() => {});
}
Deno.exit(code);
