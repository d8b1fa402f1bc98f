// The ApiSource against a running aurproxy (main.ts with `deno task run`'s permissions)
// and a real nginx: each status code of the API over real HTTP, a PUT whose static
// backend then answers through nginx, replacement, DELETE and expiry taking it out,
// managed sources surviving a restart, the bearer token and Origin checks, and fuzzed
// bodies that never crash aurproxy and never reach nginx's config.

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { type CliStack, startCliStack } from "../../testing/cli_stack.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { oneRouteConfig } from "../../testing/proxy_config.ts";

const TOKEN = "t0ken-for-tests";

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** A client of the API of the ApiSource `dyn` on the stack's management port. */
function client(stack: CliStack) {
  const base = `http://127.0.0.1:${stack.mgmtPort}/api/source/dyn`;
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
  ): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined
        ? undefined
        : typeof body === "string" || body instanceof Uint8Array
        ? body as BodyInit
        : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: kept as text.
    }
    return { status: res.status, body: parsed };
  };
}

const staticOf = (b: TestBackend, name = b.name) => ({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name,
  host: "127.0.0.1",
  port: b.port,
});

/** Waits until nginx answers `body` on `/` (each request on a new connection). */
const answers = (port: number, body: string) =>
  waitFor(`nginx to answer ${JSON.stringify(body)}`, async () => {
    const r = await httpGet(port, "/");
    return r.status === 200 && r.body === body;
  }, 20_000);

async function setupDir() {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-api-it-" });
  await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\n`);
  return dir;
}

function apiConfig(proxyPort: number) {
  return oneRouteConfig({
    port: proxyPort,
    defaultServer: true,
    route: { empty_endpoint_status_code: 503 },
    sources: [{ source_class: "tellapart.aurproxy.source.ApiSource", name: "dyn" }],
  });
}

const flags = (dir: string) => [
  `--state-file=${dir}/state.json`,
  `--api-token-file=${dir}/token`,
  "--max-update-frequency=0",
  "--weight-adjustment-delay-seconds=0",
];

/** Bodies that must all be refused, and never reach nginx's config. */
function fuzzBodies(seed: number): (string | Uint8Array)[] {
  let x = seed;
  const rand = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const hostile = [
    "1.2.3.4; } server { listen 1; }",
    "$(touch /tmp/pwned)",
    "a\nb",
    "ünïcødé.example",
    "☃",
    "x".repeat(300),
    "",
    "127.0.0.1 backup",
    "\u0000",
    "[::1]:80",
  ];
  const wrong = [null, true, 3.5, -1, 0, 70000, "80", [], {}, [1, 2], "NaN", 1e309];
  const out: (string | Uint8Array)[] = [
    "",
    "{",
    "null",
    "[]",
    '"source"',
    "{}",
    '{"source": null}',
    '{"source": []}',
    '{"source": "static"}',
    `{"source": ${"[".repeat(5000)}${"]".repeat(5000)}}`,
    `${'{"a":'.repeat(3000)}1${"}".repeat(3000)}`,
    JSON.stringify({ source: { source_class: "static", name: "x".repeat(70_000) } }),
    new Uint8Array([0xff, 0xfe, 0x00, 0x7b]),
    '{"source": {"source_class": "static", "name": "a", "host": "127.0.0.1", "port": 80}, "x": 1}',
    '{"source": {"source_class": "static", "name": "a", "host": "127.0.0.1", "port": 80}, ' +
    '"expiration": "2000-01-01T00:00:00Z"}',
    '{"__proto__": {"polluted": 1}, "source": 1}',
  ];
  for (let i = 0; i < 150; i++) {
    const source: Record<string, unknown> = {
      source_class: pick(["static", "tellapart.aurproxy.source.StaticProxySource", "ümlaut", 7]),
      name: pick(["a", "ünï ☃", 1, null, "x".repeat(1000)]),
      host: pick([...hostile, ...wrong]),
      port: pick([...wrong, 80, 65536, "80; }"]),
    };
    if (rand() < 0.3) source[pick(["hots", "share_adjusters", "zk_servers", "☃"])] = pick(wrong);
    // Every generated source has a hostile host or a port that is not one.
    if (typeof source.host === "string" && !hostile.includes(source.host)) source.host = hostile[0];
    const body: Record<string, unknown> = { source };
    if (rand() < 0.3) body.expiration = pick(["soon", 5, "2999-99-99", null, "☃"]);
    out.push(JSON.stringify(body));
  }
  return out;
}

Deno.test("ApiSource over HTTP: the original's status codes, a PUT's backend answering through nginx, replacement and DELETE; token, Origin and fuzzed bodies refused without touching nginx", async () => {
  const dir = await setupDir();
  const b1 = await startBackend({ name: "b1" });
  const b2 = await startBackend({ name: "b2" });
  const proxyPort = freePort();
  const stack = await startCliStack({
    dir,
    config: apiConfig(proxyPort),
    proxyPorts: [proxyPort],
    flags: flags(dir),
  });
  const api = client(stack);
  const nginxConf = () => Deno.readTextFile(`${dir}/conf/nginx.conf`);
  try {
    strictEqual((await httpGet(proxyPort, "/")).status, 503, "no managed source yet");
    deepStrictEqual(await api("GET", "/sources", undefined, {}), {
      status: 200,
      body: { sources: [] },
    });
    deepStrictEqual(await api("GET", "/source/web/", undefined, {}), {
      status: 404,
      body: { message: "Source web doesn't exist" },
    });

    // The token and Origin checks come before anything else.
    const put1 = { source: staticOf(b1) };
    deepStrictEqual(await api("PUT", "/source/web/", put1, {}), {
      status: 401,
      body: { message: "A bearer token is required (Authorization: Bearer <token>)" },
    });
    strictEqual(
      (await api("PUT", "/source/web/", put1, { authorization: "Bearer nope" })).status,
      401,
    );
    deepStrictEqual(
      await api("PUT", "/source/web/", put1, {
        authorization: `Bearer ${TOKEN}`,
        origin: "http://evil.example",
      }),
      {
        status: 403,
        body: "forbidden: requests from another origin (http://evil.example) are refused\n",
      },
    );
    strictEqual((await api("DELETE", "/source/web/", undefined, {})).status, 401);
    const untouched = await nginxConf();
    strictEqual(untouched.includes(String(b1.port)), false);

    // PUT: 201, the config echoed, and the backend answers through nginx.
    deepStrictEqual(await api("PUT", "/source/web/", put1), { status: 201, body: staticOf(b1) });
    await answers(proxyPort, "b1");
    deepStrictEqual(await api("GET", "/source/web", undefined, {}), {
      status: 200,
      body: { source: staticOf(b1), expiration: null },
    });
    // Replaced: 200, and nginx follows.
    deepStrictEqual(await api("PUT", "/source/web", { source: staticOf(b2) }), {
      status: 200,
      body: staticOf(b2),
    });
    await answers(proxyPort, "b2");
    deepStrictEqual(await api("GET", "/sources/"), { status: 200, body: { sources: ["web"] } });

    // Every refusal, with the original's messages where it had them.
    const serverset = {
      source_class: "tellapart.aurproxy.source.ServerSetSource",
      path: "/sd/x",
      zk_servers: "127.0.0.1:2181",
    };
    deepStrictEqual(await api("PUT", "/source/zk/", { source: serverset }), {
      status: 403,
      body: { message: "Invalid source_class 'tellapart.aurproxy.source.ServerSetSource'" },
    });
    deepStrictEqual(
      await api("PUT", "/source/x/", { source: staticOf(b1), expiration: "next week" }),
      { status: 400, body: { message: "Attempt to parse expiration failed!" } },
    );
    deepStrictEqual(
      await api("PUT", "/source/x/", {
        source: staticOf(b1),
        expiration: new Date(Date.now() + 30_000).toISOString(),
      }),
      { status: 400, body: { message: "Expiration must occur at least 1 minute in the future!" } },
    );
    deepStrictEqual(
      await api("PUT", "/source/x/", { source: { ...staticOf(b1), port: "eighty" } }),
      {
        status: 400,
        body: { message: 'source.port: expected an integer 1-65535, got "eighty"' },
      },
    );
    const notJson = await api("PUT", "/source/x/", "{source:");
    strictEqual(notJson.status, 400);
    ok(String((notJson.body as { message: string }).message).startsWith("(body): not JSON"));
    const huge = await api("PUT", "/source/x/", JSON.stringify({ pad: "x".repeat(100_000) }));
    // The management port's own bound, before the API reads anything.
    deepStrictEqual(huge, { status: 413, body: "request body over 65536 bytes\n" });
    strictEqual((await api("DELETE", "/source/nope/")).status, 404);
    strictEqual((await api("POST", "/source/x/", "{}")).status, 405);
    // A name with control characters or a slash names no source.
    strictEqual((await api("PUT", "/source/a%00b/", put1)).status, 404);
    strictEqual((await api("PUT", "/source/a%2Fb/", put1)).status, 404);

    // Fuzz: all refused (400, 403 or 413), aurproxy alive, nginx's config as it was.
    const before = await nginxConf();
    const statuses = new Map<number, number>();
    const names = ["x", "%C3%BC%E2%98%83", "a%20b", "%E2%80%AE", "very".repeat(30)];
    let i = 0;
    for (const body of fuzzBodies(42)) {
      const r = await api("PUT", `/source/${names[i++ % names.length]}/`, body);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      ok([400, 403, 413].includes(r.status), `${r.status} for ${String(body).slice(0, 200)}`);
    }
    console.log(`fuzzed ${i} bodies: ${JSON.stringify(Object.fromEntries(statuses))}`);
    strictEqual((await httpGet(stack.mgmtPort, "/health")).body, "OK");
    deepStrictEqual(await api("GET", "/sources"), { status: 200, body: { sources: ["web"] } });
    strictEqual(await nginxConf(), before, "nothing refused reached nginx's config");
    strictEqual((await httpGet(proxyPort, "/")).body, "b2");

    // DELETE: 204, and the route has no endpoint again.
    deepStrictEqual(await api("DELETE", "/source/web/"), { status: 204, body: null });
    await waitFor(
      "nginx to answer 503 again",
      async () => (await httpGet(proxyPort, "/")).status === 503,
      20_000,
    );
    deepStrictEqual(await api("DELETE", "/source/web"), {
      status: 404,
      body: { message: "Source web doesn't exist" },
    });
    // Every change was logged with who asked and the answer.
    const log = stack.aurproxy.log();
    ok(/PUT "web" from 127\.0\.0\.1: 201 created \(static\)/.test(log), log);
    ok(/PUT "web" from 127\.0\.0\.1: 401 A bearer token is required/.test(log), log);
    ok(/DELETE "web" from 127\.0\.0\.1: 204 deleted/.test(log), log);
    strictEqual(log.includes("ERROR"), false, log);
  } finally {
    strictEqual(await stack.stop(), 0);
    await b1.close();
    await b2.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ApiSource over HTTP: managed sources and expirations survive a restart; an expiring source leaves nginx on aurproxy's clock; /status.json and /status list them", async () => {
  const dir = await setupDir();
  const keep = await startBackend({ name: "keep" });
  const brief = await startBackend({ name: "brief" });
  const proxyPort = freePort();
  // An ApiSource as the gor mirror source too: its routes are on the same port.
  const mirrorFlags = [
    '--mirror-source={"source_class": "tellapart.aurproxy.source.ApiSource", "name": "shadow"}',
    "--mirror-ports=8080",
    "--mirror-max-qps=10",
    "--mirror-max-update-frequency=0",
    `--mirror-command-path=${dir}/gor.sh`,
    `--mirror-pid-path=${dir}/gor.pid`,
  ];
  const stack = await startCliStack({
    dir,
    config: apiConfig(proxyPort),
    proxyPorts: [proxyPort],
    flags: [...flags(dir), ...mirrorFlags],
  });
  const api = client(stack);
  const file = `${dir}/state.json.api.json`;
  const shadow = `http://127.0.0.1:${stack.mgmtPort}/api/source/shadow/source/replay/`;
  const replayServer = { source_class: "static", name: "r", host: "10.1.2.3", port: 28020 };
  const put = await fetch(shadow, {
    method: "PUT",
    headers: { authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ source: replayServer }),
  });
  strictEqual(put.status, 201, await put.text());
  await waitFor(
    "gor's script to mirror to the replay server",
    async () =>
      (await Deno.readTextFile(`${dir}/gor.sh`)).includes('--output-tcp "10.1.2.3:28020|10"'),
  );
  try {
    const later = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, ".000Z");
    strictEqual(
      (await api("PUT", "/source/keep/", { source: staticOf(keep), expiration: later })).status,
      201,
    );
    const soon = new Date(Date.now() + 61_000).toISOString();
    strictEqual(
      (await api("PUT", "/source/brief/", { source: staticOf(brief), expiration: soon })).status,
      201,
    );
    await waitFor("both backends behind nginx", async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) seen.add((await httpGet(proxyPort, "/")).body);
      return seen.has("keep") && seen.has("brief");
    }, 20_000);
    const status = JSON.parse((await httpGet(stack.mgmtPort, "/status.json")).body);
    deepStrictEqual(
      status.apiSources.map((a: { name: string; sources: { name: string }[] }) => [
        a.name,
        a.sources.map((s) => s.name),
      ]),
      [["dyn", ["keep", "brief"]], ["shadow", ["replay"]]],
    );
    deepStrictEqual(status.apiSources[0].sources[0].endpoints, [`127.0.0.1:${keep.port}`]);
    strictEqual(status.apiSources[0].sources[0].expiration, later);
    const page = (await httpGet(stack.mgmtPort, "/status")).body;
    ok(page.includes("Sources added over HTTP") && page.includes("brief"), page);

    // Down for a while: say brief's expiration came within a few seconds meanwhile.
    strictEqual((await stack.aurproxy.quit()).code, 0);
    const stored = JSON.parse(await Deno.readTextFile(file));
    deepStrictEqual(Object.keys(stored.api_sources.dyn), ["keep", "brief"]);
    const expiresAt = Date.now() + 6_000;
    stored.api_sources.dyn.brief.expiration = new Date(expiresAt).toISOString();
    await Deno.writeTextFile(file, JSON.stringify(stored));
    strictEqual((await httpGet(proxyPort, "/")).status, 200, "nginx serves on without aurproxy");
    await stack.restart().catch(() => 0);
    deepStrictEqual(await api("GET", "/sources"), {
      status: 200,
      body: { sources: ["keep", "brief"] },
    });
    deepStrictEqual(await api("GET", "/source/keep/"), {
      status: 200,
      body: { source: staticOf(keep), expiration: later },
    });
    // Expired on aurproxy's clock: only "keep" answers from then on.
    await waitFor("brief to expire", async () =>
      (await api("GET", "/sources")).body !== null &&
      JSON.stringify((await api("GET", "/sources")).body) === '{"sources":["keep"]}', 20_000);
    ok(Date.now() >= expiresAt - 50, "not before its time");
    await waitFor("nginx without the expired source", async () => {
      for (let i = 0; i < 8; i++) if ((await httpGet(proxyPort, "/")).body !== "keep") return false;
      return true;
    }, 20_000);
    ok(stack.aurproxy.log().includes("brief expired"), stack.aurproxy.log());
    const kept = JSON.parse(await Deno.readTextFile(file)).api_sources;
    deepStrictEqual(Object.keys(kept.dyn), ["keep"]);
    deepStrictEqual(kept.shadow.replay.source, replayServer, "the mirror's too");
  } finally {
    strictEqual(await stack.stop(), 0, stack.aurproxy.log());
    await keep.close();
    await brief.close();
    await Deno.remove(dir, { recursive: true });
  }
});
