/**
 * `aurproxy run --supervise` end to end: main.ts as a subprocess with the permission flags
 * of `deno task run` (`testing/aurproxy_process.ts`), a real nginx started by aurproxy as
 * its own child, real HTTP backends. What an operator would notice: nginx serves without
 * being started by anyone else; a config change reloads the same master; a `kill -9` of
 * the master is repaired within a bound (3 s) with the current config, /health failing
 * meanwhile; every way of stopping stops nginx gracefully and leaves no nginx process
 * behind; what cannot start says why and exits instead of hanging.
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import {
  type AurproxyProcess,
  runAurproxy,
  spawnAurproxy,
  startAurproxy,
} from "../../testing/aurproxy_process.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { oneRouteConfig, staticSource } from "../../testing/proxy_config.ts";
import { startRunRig } from "../../testing/aws/run_rig.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";

/** A process as /proc shows it: its process group and command line. */
interface Proc {
  readonly pid: number;
  readonly pgrp: number;
  readonly cmdline: string;
}

function procs(): Proc[] {
  const out: Proc[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (rest[0] === "Z") continue;
      const cmdline = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      out.push({ pid: Number(e.name), pgrp: Number(rest[2]), cmdline: cmdline.trim() });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** The nginx master running this test's config (its title names the temp dir). */
function masterOf(dir: string): Proc | undefined {
  return procs().find((p) =>
    p.cmdline.startsWith("nginx: master process") && p.cmdline.includes(dir)
  );
}

/** The masters aurproxy started, from its log ("started pid N: nginx -c ..."). */
function startedMasters(p: AurproxyProcess): number[] {
  return p.lines.flatMap((l) => {
    const m = /nginx\.process: started pid (\d+):/.exec(l.text);
    return m ? [Number(m[1])] : [];
  });
}

/**
 * Every process left of this test's nginx: in the process group of a master aurproxy
 * started (workers included: they keep the group), or naming the temp dir.
 */
function leftovers(p: AurproxyProcess, dir: string): string[] {
  const groups = new Set(startedMasters(p));
  return procs().filter((x) => groups.has(x.pgrp) || x.cmdline.includes(dir))
    .map((x) => `${x.pid} (group ${x.pgrp}): ${x.cmdline}`);
}

/** A temp dir, a config file for one static source, and the ports. */
interface Rig extends AsyncDisposable {
  readonly dir: string;
  readonly configPath: string;
  readonly proxyPort: number;
  readonly mgmtPort: number;
  /** A real backend answering its name, closed with the rig. */
  backend(name: string): Promise<TestBackend>;
  /**
   * Writes the config: one route to a static source at `port` (or to the source given),
   * and `extra` on its top level.
   */
  write(port: number | Record<string, unknown>, extra?: Record<string, unknown>): Promise<void>;
  /** `aurproxy run --supervise` on it; resolves once the management port listens. */
  start(flags?: readonly string[]): Promise<AurproxyProcess>;
  /** A GET through nginx on a fresh connection; undefined when nothing answers. */
  proxy(path?: string): Promise<string | undefined>;
  health(): Promise<string>;
  details(): Promise<string>;
}

async function rig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-supervised-" });
  const proxyPort = freePort();
  const mgmtPort = freePort();
  const configPath = `${dir}/config.json`;
  const started: AurproxyProcess[] = [];
  const backends: TestBackend[] = [];
  const r: Rig = {
    dir,
    configPath,
    proxyPort,
    mgmtPort,
    async backend(name) {
      const b = await startBackend({ name });
      backends.push(b);
      return b;
    },
    write: (port, extra = {}) =>
      Deno.writeTextFile(
        configPath,
        JSON.stringify(oneRouteConfig({
          dir,
          port: proxyPort,
          defaultServer: true,
          sources: [typeof port === "number" ? staticSource("web", port) : port],
          extra,
        })),
      ),
    async start(flags = []) {
      const p = await startAurproxy(mgmtPort, [
        "--supervise",
        `--config=${configPath}`,
        "--update-period=0.2",
        "--max-update-frequency=0",
        "--state-file=",
        ...flags,
      ]);
      started.push(p);
      return p;
    },
    async proxy(path = "/") {
      try {
        const res = await httpGet(proxyPort, path, { timeoutMs: 5000 });
        return res.status === 200 ? res.body : `${res.status}`;
      } catch {
        return undefined;
      }
    },
    health: async () => (await httpGet(mgmtPort, "/health")).body,
    details: async () => (await httpGet(mgmtPort, "/health/details")).body,
    async [Symbol.asyncDispose]() {
      for (const p of started) {
        // A test that failed half-way must not leave its nginx running (nor wait for it:
        // it holds aurproxy's stdout, which it inherited).
        for (const pid of startedMasters(p)) {
          try {
            Deno.kill(-pid, "SIGKILL");
          } catch {
            // Gone.
          }
        }
        await p.stop();
      }
      for (const b of backends) await b.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return r;
}

/** Fails with aurproxy's log. */
async function until<T>(p: AurproxyProcess, what: string, fn: () => T | Promise<T>, ms = 15_000) {
  try {
    return await waitFor(what, fn, ms, 10);
  } catch (err) {
    throw new Error(`${(err as Error).message}\naurproxy:\n${p.log()}`);
  }
}

Deno.test("supervise: aurproxy starts nginx and serves; a config change reloads the same master; kill -9 of the master is repaired within 3 s with the current config, /health failing meanwhile; /quitquitquit stops nginx and leaves no process", async () => {
  await using r = await rig();
  const a = await r.backend("a");
  const b = await r.backend("b");
  await r.write(a.port);
  const p = await r.start();
  // Nobody but aurproxy started nginx: it serves at once, as aurproxy's child.
  strictEqual(await r.proxy(), "a", p.log());
  const first = masterOf(r.dir);
  ok(first, p.log());
  strictEqual(first.pgrp, first.pid, "nginx leads its own process group");
  strictEqual(startedMasters(p).includes(first.pid), true);
  strictEqual(await r.health(), "OK", await r.details());
  // nginx's stderr is in aurproxy's log (nginx says "setrlimit ... failed" unprivileged).
  ok(p.lines.some((l) => l.text.includes("nginx.process.stderr: ")), p.log());

  // A member change: the static source now names b (SIGHUP re-reads --config).
  await r.write(b.port);
  p.kill("SIGHUP");
  await until(p, "b served", async () => (await r.proxy()) === "b");
  strictEqual(masterOf(r.dir)?.pid, first.pid, "reloaded, not restarted");
  ok(p.line("SIGHUP: now running"), p.log());

  // kill -9 of the master: its workers are killed with it (they would hold the port and
  // serve a frozen config), nginx is started again on the live file.
  const killedAt = performance.now();
  Deno.kill(first.pid, "SIGKILL");
  let sawFailed: string | undefined;
  const back = await until(p, "a new master serving b", async () => {
    const h = await r.health();
    if (h.startsWith("Health checks failed")) sawFailed ??= h;
    const m = masterOf(r.dir);
    return m && m.pid !== first.pid && (await r.proxy()) === "b" ? m : undefined;
  });
  const restartMs = performance.now() - killedAt;
  console.log(`kill -9 of the nginx master → serving again in ${restartMs.toFixed(0)} ms`);
  ok(restartMs <= 3000, `restarted and serving in ${restartMs} ms (bound 3000)\n${p.log()}`);
  ok(sawFailed, "/health failed while nginx was down");
  ok(sawFailed.includes("nginx is not running"), sawFailed);
  await until(p, "/health OK again", async () => (await r.health()) === "OK");
  strictEqual(await r.proxy(), "b", "the restarted nginx serves the current config");
  strictEqual(startedMasters(p).at(-1), back.pid);
  // The dashboard's data names the running master and counts the restart.
  const status = JSON.parse((await httpGet(r.mgmtPort, "/status.json")).body);
  deepStrictEqual(
    [status.proxy?.backend, status.proxy?.state, status.proxy?.pid, status.proxy?.restarts],
    ["nginx", "running", back.pid, 1],
  );
  ok(p.line(/pid \d+ was killed by SIGKILL after .*; restarting in 0\.5 s/), p.log());

  // The file nginx runs cannot change under it: such a config is refused, nginx serves on.
  const moved = JSON.parse(await Deno.readTextFile(r.configPath));
  await Deno.writeTextFile(
    r.configPath,
    JSON.stringify({ ...moved, configuration_file: `${r.dir}/other/nginx.conf` }),
  );
  p.kill("SIGHUP");
  await p.waitForLine("cannot change while aurproxy supervises nginx (restart aurproxy)");
  strictEqual(await r.proxy(), "b");
  strictEqual(masterOf(r.dir)?.pid, back.pid);

  // /quitquitquit: nginx stopped gracefully (SIGQUIT), then aurproxy exits.
  const exit = await p.quit();
  strictEqual(exit.code, 0, p.log());
  ok(
    p.line(`stopping nginx (pid ${back.pid}) gracefully: SIGQUIT; SIGKILL to its group after 32 s`),
    p.log(),
  );
  ok(p.line(`pid ${back.pid} exited with code 0`), p.log());
  strictEqual(leftovers(p, r.dir).join("\n"), "", "no nginx process outlives aurproxy");
  strictEqual(await r.proxy(), undefined, "nothing listens on the proxy port");
});

Deno.test("supervise: SIGTERM lets a request in flight finish (SIGQUIT), bounded by worker_shutdown_timeout; no process left", async () => {
  // A backend that answers /slow after 1.5 s, and /hang never.
  const port = freePort();
  const ac = new AbortController();
  const hung: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/slow") await new Promise((res) => setTimeout(res, 1500));
      if (path === "/hang") await new Promise<void>((res) => hung.push(res));
      return new Response(path === "/slow" ? "slow" : "web");
    },
  );
  try {
    await using r = await rig();
    await r.write(port);
    const p = await r.start();
    strictEqual(await r.proxy(), "web", p.log());
    const inFlight = r.proxy("/slow");
    await new Promise((res) => setTimeout(res, 300));
    const master = masterOf(r.dir);
    ok(master);
    const exit = await p.terminate(20_000);
    strictEqual(exit.code, 0, p.log());
    strictEqual(await inFlight, "slow", "the request in flight was answered");
    ok(p.line(`stopping nginx (pid ${master.pid}) gracefully: SIGQUIT`), p.log());
    strictEqual(leftovers(p, r.dir).join("\n"), "", "no nginx process left");

    // worker_shutdown_timeout 1s: a request that never ends cannot hold the stop longer.
    await r.write(port, { context: { worker_shutdown_timeout: "1s" } });
    const q = await r.start();
    const hanging = r.proxy("/hang");
    await new Promise((res) => setTimeout(res, 300));
    const t0 = performance.now();
    const exit2 = await q.terminate(20_000);
    const stopMs = performance.now() - t0;
    strictEqual(exit2.code, 0, q.log());
    ok(q.line("SIGKILL to its group after 3 s"), q.log());
    ok(stopMs < 3500, `stopped in ${stopMs} ms despite a hung request\n${q.log()}`);
    await hanging;
    strictEqual(leftovers(q, r.dir).join("\n"), "");
  } finally {
    for (const res of hung) res();
    ac.abort();
    await server.finished;
  }
});

Deno.test("supervise: nginx that keeps dying is restarted with a growing backoff, visible in /health/details", async () => {
  await using r = await rig();
  const a = await r.backend("a");
  await r.write(a.port);
  const p = await r.start();
  const gaps: number[] = [];
  let last = masterOf(r.dir);
  for (let i = 1; i <= 3; i++) {
    ok(last, p.log());
    const t0 = performance.now();
    Deno.kill(last.pid, "SIGKILL");
    if (i === 3) {
      const d = await until(p, "the backoff in /health/details", async () => {
        const text = await r.details();
        return text.includes("3 failure(s) in a row") ? text : undefined;
      });
      ok(d.includes("nginx restarting: pid"), d);
      ok(/next start in (1\.\d|2) s/.test(d), d);
      ok(d.includes("nginx is not running: aurproxy's nginx child pid"), d);
    }
    const prev = last.pid;
    last = await until(p, `restart ${i}`, () => {
      const m = masterOf(r.dir);
      return m && m.pid !== prev ? m : undefined;
    });
    gaps.push(performance.now() - t0);
    await until(p, `serving after restart ${i}`, async () => (await r.proxy()) === "a");
  }
  // 0.5 s, 1 s, 2 s (DEFAULT_BACKOFF), each plus nginx's own start.
  ok(gaps[0] >= 450 && gaps[1] >= 950 && gaps[2] >= 1950, `gaps ${gaps}`);
  ok(gaps[0] < gaps[1] && gaps[1] < gaps[2], `gaps ${gaps}`);
  await until(p, "/health OK once it stays up", async () => (await r.health()) === "OK");
  strictEqual((await p.quit()).code, 0, p.log());
  strictEqual(leftovers(p, r.dir).join("\n"), "");
});

Deno.test("supervise: a missing nginx binary, or an nginx that cannot start (its port taken), is a clear error and exit 1, not a hang", async () => {
  await using r = await rig();
  // No such binary: nginx -t cannot even run.
  await r.write(9, { nginx_binary: `${r.dir}/no-such-nginx` });
  const t0 = performance.now();
  const missing = await runAurproxy([
    "run",
    "--supervise",
    `--config=${r.configPath}`,
    `--management-port=${r.mgmtPort}`,
    "--state-file=",
  ]);
  strictEqual(missing.code, 1, missing.stderr);
  ok(
    missing.stderr.includes("--supervise: the first nginx config was not written: cannot run"),
    missing.stderr,
  );
  ok(missing.stderr.includes("no-such-nginx"), missing.stderr);
  ok(performance.now() - t0 < 15_000);

  // nginx -t passes, but the port is taken: nginx gives up binding (after its own 2.5 s of
  // retries) and exits; aurproxy says what nginx said and exits.
  const taken = Deno.listen({ hostname: "0.0.0.0", port: r.proxyPort });
  try {
    await r.write(9);
    const t1 = performance.now();
    const p = await spawnAurproxy([
      "run",
      "--supervise",
      `--config=${r.configPath}`,
      `--management-port=${r.mgmtPort}`,
      "--state-file=",
    ]);
    const exit = await p.exited;
    strictEqual(exit.code, 1, p.log());
    ok(p.log().includes("--supervise: nginx did not start: nginx ("), p.log());
    ok(p.log().includes("exited with code 1"), p.log());
    ok(p.log().includes("Address already in use"), p.log());
    ok(performance.now() - t1 < 15_000);
    strictEqual(leftovers(p, r.dir).join("\n"), "");
  } finally {
    taken.close();
  }

  // daemon on (from the context) would fork nginx out of aurproxy's hands: refused.
  await r.write(9, { context: { daemon: "on" } });
  const daemon = await runAurproxy([
    "run",
    "--supervise",
    `--config=${r.configPath}`,
    `--management-port=${r.mgmtPort}`,
    "--state-file=",
  ]);
  strictEqual(daemon.code, 1, daemon.stderr);
  ok(daemon.stderr.includes(`says "daemon on;": a supervised nginx must stay in the foreground`));

  // --supervise with --setup makes no sense: a usage error.
  const both = await runAurproxy(["run", "--supervise", "--setup", `--config=${r.configPath}`]);
  strictEqual(both.code, 2, both.stderr);
  ok(both.stderr.includes("--supervise: cannot be combined with --setup"), both.stderr);
});

const INSTANCE = "i-0aaaaaaaaaaaaaaa1";
const ELB = [
  "--registration-class=tellapart.aurproxy.register.elb.ElbSelfRegisterer",
  "--registration-arg=region=us-east-1",
  "--registration-arg=elb_names=web",
];

Deno.test("supervise: with ELB registration, registered once nginx serves; on /quitquitquit and SIGTERM deregistered while nginx still serves, then nginx stopped, then exit", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  rig.aws.world.addElb("web", []);
  let p: AurproxyProcess | undefined;
  // What nginx showed when AWS got each call (answered only after).
  const seen: { action: string; proxied?: string; master: boolean }[] = [];
  rig.aws.onCall(async (call) => {
    if (!call.action.includes("Instances")) return;
    const proxied = (await rig.proxy().catch(() => undefined))?.body;
    seen.push({ action: call.action, proxied, master: masterOf(rig.dir) !== undefined });
  });
  using _cleanup = {
    [Symbol.dispose]() {
      for (const pid of p ? startedMasters(p) : []) {
        try {
          Deno.kill(-pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
    },
  };
  const ways: [string, (p: AurproxyProcess) => Promise<unknown>][] = [
    ["quitquitquit", () => rig.mgmt("/quitquitquit", "POST")],
    ["SIGTERM", (p) => Promise.resolve(p.kill("SIGTERM"))],
  ];
  for (const [i, [how, stop]] of ways.entries()) {
    p = await rig.run(["--supervise", ...ELB]);
    await until(p, `registered (${how})`, () => rig.aws.world.elbs.get("web")?.includes(INSTANCE));
    const master = masterOf(rig.dir);
    ok(master, p.log());
    await stop(p);
    const exit = await p.exited;
    strictEqual(exit.code, 0, `${how}:\n${p.log()}`);
    deepStrictEqual(rig.aws.world.elbs.get("web"), [], how);
    deepStrictEqual(seen.slice(2 * i), [
      { action: "RegisterInstancesWithLoadBalancer", proxied: "web", master: true },
      { action: "DeregisterInstancesFromLoadBalancer", proxied: "web", master: true },
    ], `${how}: registered once nginx served, deregistered while it still served`);
    // The order aurproxy logged: deregistration, then nginx stopped, then the end.
    const at = (pattern: string) => {
      const n = p!.lines.findLastIndex((l) => l.text.includes(pattern));
      ok(n >= 0, `no "${pattern}" (${how}) in:\n${p!.log()}`);
      return n;
    };
    const order = [
      at(`shutting down (${how})`),
      at("deregistered from elb web"),
      at(`stopping nginx (pid ${master.pid}) gracefully: SIGQUIT`),
      at(`pid ${master.pid} exited with code 0`),
      at("shutdown complete"),
    ];
    deepStrictEqual(order, [...order].sort((a, b) => a - b), p.log());
    strictEqual(leftovers(p, rig.dir).join("\n"), "", how);
  }
  strictEqual(rig.aws.hookErrors.length, 0, String(rig.aws.hookErrors));
});

Deno.test("supervise: a member replaced in ZooKeeper reloads aurproxy's own nginx (same master); after a kill -9 the restarted nginx serves the replacement", async () => {
  const zk = await startZooKeeper();
  try {
    await using r = await rig();
    const a = await r.backend("a");
    const b = await r.backend("b");
    const registry = await zk.announcer();
    const memberA = await registry.announce("/sd/web", { host: "127.0.0.1", port: a.port });
    await r.write({
      source_class: "tellapart.aurproxy.source.ServerSetSource",
      zk_servers: zk.connectString,
      path: "/sd/web",
    });
    const p = await r.start();
    strictEqual(await r.proxy(), "a", p.log());
    const master = masterOf(r.dir);
    ok(master, p.log());
    const reloads = (await p.metrics())["aurproxy.reloads"] ?? 0;

    await registry.announce("/sd/web", { host: "127.0.0.1", port: b.port });
    await registry.remove(memberA);
    await until(p, "b served", async () => (await r.proxy()) === "b");
    strictEqual(masterOf(r.dir)?.pid, master.pid, "reloaded in place");
    // Confirmed once the old workers are gone (new ones may serve a moment before).
    await until(
      p,
      "a confirmed reload",
      async () => (await p.metrics())["aurproxy.reloads"] > reloads,
    );

    Deno.kill(master.pid, "SIGKILL");
    const t0 = performance.now();
    await until(p, "a new master serving b", async () => {
      const m = masterOf(r.dir);
      return m && m.pid !== master.pid && (await r.proxy()) === "b";
    });
    const ms = performance.now() - t0;
    ok(ms <= 3000, `${ms} ms`);
    for (let i = 0; i < 5; i++) strictEqual(await r.proxy(), "b", "only the replacement");
    strictEqual((await p.terminate()).code, 0, p.log());
    strictEqual(leftovers(p, r.dir).join("\n"), "");
  } finally {
    await zk.destroy();
  }
});

Deno.test("supervise: after a SIGHUP that moves stats_port, /metrics reads nginx's stub_status on the new port", async () => {
  await using r = await rig();
  const web = await r.backend("web");
  const nginxUp = async () => {
    const text = (await httpGet(r.mgmtPort, "/metrics")).body;
    return text.match(/^aurproxy_nginx_stats_up (\d)$/m)?.[1];
  };
  await r.write(web.port, { stats_port: freePort() });
  const p = await r.start();
  await until(p, "web served", async () => (await r.proxy()) === "web");
  await until(p, "stub_status read", async () => (await nginxUp()) === "1");

  // The new config moves the stats server; nginx (same master) now listens there only.
  const moved = freePort();
  await r.write(web.port, { stats_port: moved });
  p.kill("SIGHUP");
  await p.waitForLine("SIGHUP: now running");
  await until(p, "nginx listening on the new stats port", async () => {
    try {
      return (await httpGet(moved, "/")).status > 0;
    } catch {
      return false;
    }
  });
  // Scrapes after the swap poll the running graph's nginx: up stays (or is again) 1.
  await until(p, "stub_status read on the new port", async () => (await nginxUp()) === "1");
  await new Promise((res) => setTimeout(res, 300));
  strictEqual(await nginxUp(), "1", p.log());
  strictEqual((await p.quit()).code, 0, p.log());
});

Deno.test("supervise: an nginx left running by an aurproxy killed with SIGKILL gets no second nginx beside it: the next aurproxy refuses to start and names it", async () => {
  await using r = await rig();
  const web = await r.backend("web");
  await r.write(web.port);
  const first = await r.start();
  await until(first, "web served", async () => (await r.proxy()) === "web");
  const orphan = masterOf(r.dir);
  ok(orphan, "nginx runs");
  Deno.kill(first.pid, "SIGKILL");
  // Not `exited`: that also awaits aurproxy's stdout, which the orphan still holds.
  await waitFor("aurproxy gone", () => first.exit() !== undefined);
  strictEqual(await r.proxy(), "web", "the orphan serves on, unsupervised");
  const again = await spawnAurproxy([
    "run",
    "--supervise",
    `--config=${r.configPath}`,
    `--management-port=${r.mgmtPort}`,
    "--state-file=",
  ]);
  try {
    const exit = await waitFor("the second aurproxy exits", () => again.exit(), 15_000)
      .catch((e) => {
        throw new Error(`${e.message}\n${again.log()}`);
      });
    strictEqual(exit.code, 1, again.log());
  } finally {
    for (const pid of startedMasters(again)) {
      if (pid !== orphan.pid) Deno.kill(-pid, "SIGKILL");
    }
    await again.stop();
  }
  ok(again.log().includes(`an nginx (pid ${orphan.pid}, from `), again.log());
  ok(again.log().includes(`kill -QUIT ${orphan.pid}`), again.log());
  strictEqual(masterOf(r.dir)?.pid, orphan.pid, "no second nginx on the same ports");
  // With `reuseport`, a second master would have bound the ports beside the orphan.
  const masters = procs().filter((p) =>
    p.cmdline.startsWith("nginx: master process") && p.cmdline.includes(r.dir)
  );
  strictEqual(masters.length, 1, masters.map((m) => m.cmdline).join("\n"));
});
