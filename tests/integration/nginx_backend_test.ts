import { strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { nginxOptions, startNginx, type TestNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";
import { httpGet } from "../../testing/http.ts";
import { childPids, isAlive } from "../../lib/backends/nginx/process.ts";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";

async function get(port: number, path: string, host?: string): Promise<[number, string]> {
  const r = await httpGet(port, path, { host });
  return [r.status, r.body];
}

async function withNginx(
  fn: (ctx: { nginx: TestNginx; a: TestBackend; b: TestBackend; port: number }) => Promise<void>,
  make: (port: number, a: number, b: number) => Parameters<typeof startNginx>[0],
) {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(make(port, a.port, b.port), [port]);
  try {
    await fn({ nginx, a, b, port });
  } finally {
    await nginx.stop();
    await a.close();
    await b.close();
  }
}

Deno.test("nginx: routes by path, denies blacklisted locations, answers healthcheck_route and empty routes", async () => {
  await withNginx(async ({ port }) => {
    strictEqual((await get(port, "/a/x"))[1], "a");
    strictEqual((await get(port, "/b/y"))[1], "b");
    strictEqual((await get(port, "/secret/z"))[0], 403);
    strictEqual((await get(port, "/healthcheck"))[0], 200);
    strictEqual((await get(port, "/empty"))[0], 418);
  }, (port, a, b) =>
    snapshot([{
      ports: [port],
      healthcheckRoute: "/healthcheck",
      context: { default_server: "True", location_blacklist: ["/secret"] },
      routes: [
        { locations: ["/a/"], ports: [a] },
        { locations: ["/b/"], ports: [b] },
        { locations: ["/empty"], ports: [], emptyEndpointStatusCode: 418 },
      ],
    }]));
});

Deno.test("nginx: routes by Host header between two servers on one port", async () => {
  await withNginx(async ({ port }) => {
    strictEqual((await get(port, "/", "one.example.com"))[1], "a");
    strictEqual((await get(port, "/", "two.example.com"))[1], "b");
    // Neither name: the default_server answers.
    strictEqual((await get(port, "/", "other.example.com"))[1], "a");
  }, (port, a, b) =>
    snapshot([
      {
        hosts: ["one.example.com"],
        ports: [port],
        context: { default_server: true },
        routes: [{ locations: ["/"], ports: [a] }],
      },
      { hosts: ["two.example.com"], ports: [port], routes: [{ locations: ["/"], ports: [b] }] },
    ]));
});

Deno.test("nginx: a new endpoint set is applied by reload: same master, new workers, new backend", async () => {
  await withNginx(async ({ nginx, b, port }) => {
    strictEqual((await get(port, "/"))[1], "a");
    const workersBefore = childPids(nginx.pid);
    const next = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [b.port] }] }]);
    const r = await nginx.backend.apply(next, { reload: true });
    strictEqual(r.kind, "applied");
    strictEqual(r.kind === "applied" && r.reloaded, true);
    const workersAfter = childPids(nginx.pid);
    strictEqual([...workersAfter].some((p) => !workersBefore.has(p)), true);
    // Old workers may finish in-flight requests; new connections go to the new config.
    for (let i = 0; i < 5; i++) strictEqual((await get(port, "/"))[1], "b");
    // The previous config is kept as <file>.1.
    const prev = await Deno.readTextFile(`${nginx.options.configurationFile}.1`);
    strictEqual(prev.includes(`127.0.0.1:${b.port}`), false);
    // Same snapshot again: nothing to do.
    strictEqual((await nginx.backend.apply(next, { reload: true })).kind, "unchanged");
    strictEqual(nginx.metrics.get("reloads_total"), 1);
  }, (port, a) => snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a] }] }]));
});

Deno.test("nginx: a config nginx rejects never goes live; traffic keeps flowing to the old backend", async () => {
  await withNginx(async ({ nginx, b, port }) => {
    const live = await Deno.readTextFile(nginx.options.configurationFile);
    const bad = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [b.port] }] }], {
      worker_connections: "lots",
    });
    const r = await nginx.backend.apply(bad, { reload: true });
    strictEqual(r.kind, "invalid");
    strictEqual(
      r.kind === "invalid" && r.error.includes('invalid number "lots"'),
      true,
      JSON.stringify(r),
    );
    strictEqual(await Deno.readTextFile(nginx.options.configurationFile), live);
    strictEqual(nginx.metrics.get("validation_failures_total"), 1);
    strictEqual(nginx.metrics.get("reloads_total"), 0);
    strictEqual((await get(port, "/"))[1], "a");
    // No temp file left behind.
    const left = [...Deno.readDirSync(`${nginx.dir}/conf`)].map((e) => e.name).sort();
    strictEqual(JSON.stringify(left), JSON.stringify(["nginx.conf"]));
  }, (port, a) => snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a] }] }]));
});

Deno.test("nginx: a TCP stream server proxies bytes", async () => {
  const echoPort = freePort();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: echoPort });
  const served = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(1024);
        const n = await conn.read(buf);
        if (n) {
          await conn.write(
            new TextEncoder().encode(`echo:${new TextDecoder().decode(buf.subarray(0, n))}`),
          );
        }
        conn.close();
      })();
    }
  })().catch(() => {});
  const port = freePort();
  const nginx = await startNginx(snapshot([{ ports: [port], stream: [echoPort] }]), [port]);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("hello"));
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    conn.close();
    strictEqual(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "echo:hello");
  } finally {
    await nginx.stop();
    listener.close();
    await served;
  }
});

Deno.test("nginx: reload against a stopped nginx is reported, not hidden", async () => {
  await withNginx(async ({ nginx, b, port }) => {
    await nginx.stop();
    const r = await nginx.backend.apply(
      snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [b.port] }] }]),
      { reload: true },
    );
    strictEqual(r.kind, "reload_failed");
    strictEqual(r.kind === "reload_failed" && r.error.startsWith("nginx is not running"), true);
  }, (port, a) => snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a] }] }]));
});

/** The same snapshot with other audit comments (health details, ramp progress). */
function withAudit(snap: ProxySnapshot, text: string): ProxySnapshot {
  return {
    ...snap,
    servers: snap.servers.map((s) => ({
      ...s,
      routes: s.routes.map((r) => ({
        ...r,
        endpoints: r.endpoints.map((e) => ({ ...e, audit: [text] })),
        notes: [text],
      })),
    })),
  };
}

Deno.test("nginx: a change of comments alone never reloads; a restarted aurproxy confirms once", async () => {
  let initial!: ProxySnapshot;
  await withNginx(
    async ({ nginx }) => {
      // A new aurproxy cannot know whether nginx runs the live file: it reloads once.
      const first = await nginx.backend.apply(withAudit(initial, "checked 1"), { reload: true });
      strictEqual(first.kind === "applied" && first.reloaded, true, JSON.stringify(first));
      const live = await Deno.readTextFile(nginx.options.configurationFile);
      for (const text of ["checked 2", "ramping 30/60s"]) {
        const r = await nginx.backend.apply(withAudit(initial, text), { reload: true });
        strictEqual(r.kind, "unchanged");
      }
      strictEqual(nginx.metrics.get("reloads_total"), 1);
      strictEqual(await Deno.readTextFile(nginx.options.configurationFile), live);
    },
    (port, a) =>
      initial = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a] }] }]),
  );
});

Deno.test("nginx: <file>.1 is the last config nginx ran, even after failed reloads", async () => {
  await withNginx(async ({ nginx, b, port }) => {
    const route = (p: number) =>
      snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [p] }] }]);
    const file = nginx.options.configurationFile;
    strictEqual((await nginx.backend.apply(route(b.port), { reload: true })).kind, "applied");
    Deno.kill(nginx.pid, "SIGTERM"); // its directory stays
    await waitFor("nginx to exit", () => !isAlive(nginx.pid));
    // nginx is gone: each write is kept live, but none of them ever ran.
    strictEqual((await nginx.backend.apply(route(40001), { reload: true })).kind, "reload_failed");
    strictEqual((await nginx.backend.apply(route(40002), { reload: true })).kind, "reload_failed");
    strictEqual((await Deno.readTextFile(file)).includes(":40002 "), true);
    const previous = await Deno.readTextFile(`${file}.1`);
    strictEqual(previous.includes(`127.0.0.1:${b.port} `), true, previous);
  }, (port, a) => snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a] }] }]));
});

Deno.test("nginx: a config that cannot be written is a counted failure, not an exception", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-nginx-" });
  try {
    await Deno.writeTextFile(`${dir}/not-a-dir`, "");
    const metrics = new MetricsRegistry("aurproxy");
    const backend = new NginxBackend(
      { ...nginxOptions(dir), configurationFile: `${dir}/not-a-dir/nginx.conf` },
      { logger: memoryLogger(), metrics },
    );
    const r = await backend.apply(
      snapshot([{ ports: [freePort()], routes: [{ locations: ["/"], ports: [1] }] }]),
      { reload: true },
    );
    strictEqual(r.kind, "error");
    strictEqual(r.kind === "error" && r.error.includes(`${dir}/not-a-dir/nginx.conf`), true);
    strictEqual(metrics.get("apply_errors_total"), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
