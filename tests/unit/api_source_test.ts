// The ApiSource's HTTP API and behaviour, through the management port's route handler, on
// a fake clock: the original's routes, status codes and messages, expiry, replacement,
// persistence across a restart, and the checks added beyond the original (body size,
// Origin, bearer token).

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { ApiToken } from "../../lib/sources/api/token.ts";
import { ManagedSourceFile } from "../../lib/sources/api/managed_file.ts";
import {
  EXPIRATION_TOO_SOON,
  EXPIRATION_UNPARSABLE,
  parseExpiration,
  parseIsoTime,
} from "../../lib/sources/api/expiration.ts";
import { jsonDepth } from "../../lib/sources/api/put_body.ts";
import { memoryLogger } from "../../lib/log.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { apiFixture, staticSource } from "../../testing/api_source.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { Topology } from "../../lib/pipeline/topology.ts";
import { CheckScheduler } from "../../lib/share/health/scheduler.ts";
import { adjusterFactory } from "../../lib/share/kinds.ts";

const ITEM = (name: string) => `/api/source/dyn/source/${name}/`;
const ports = (f: ReturnType<typeof apiFixture>) => f.api.endpoints().map((e) => e.port);
const iso = (ms: number) => new Date(ms).toISOString();

async function body(res: Response): Promise<unknown> {
  const t = await res.text();
  return t === "" ? null : JSON.parse(t);
}

Deno.test("api: the original's routes and answers, with and without the trailing slash", async () => {
  const clock = new FakeClock();
  const f = apiFixture({ clock });
  await f.api.start();
  let changes = 0;
  f.api.onChange(() => changes++);
  for (const p of ["/api/source/dyn/sources", "/api/source/dyn/sources/"]) {
    const r = await f.req("GET", p);
    strictEqual(r.status, 200);
    strictEqual(r.headers.get("content-type"), "application/json");
    deepStrictEqual(await body(r), { sources: [] });
  }
  for (const p of [ITEM("web"), "/api/source/dyn/source/web"]) {
    const r = await f.req("GET", p);
    strictEqual(r.status, 404);
    deepStrictEqual(await body(r), { message: "Source web doesn't exist" });
  }
  const put = await f.req("PUT", ITEM("web"), { source: staticSource(9001) });
  strictEqual(put.status, 201);
  deepStrictEqual(await body(put), staticSource(9001));
  deepStrictEqual(ports(f), [9001]);
  strictEqual(changes, 1);
  const again = await f.req("PUT", "/api/source/dyn/source/web", { source: staticSource(9002) });
  strictEqual(again.status, 200);
  deepStrictEqual(await body(again), staticSource(9002));
  deepStrictEqual(ports(f), [9002]);
  strictEqual(changes, 2, "a replacement is one change");
  deepStrictEqual(await body(await f.req("GET", "/api/source/dyn/source/web")), {
    source: staticSource(9002),
    expiration: null,
  });
  deepStrictEqual(await body(await f.req("GET", "/api/source/dyn/sources")), { sources: ["web"] });
  const del = await f.req("DELETE", "/api/source/dyn/source/web");
  strictEqual(del.status, 204);
  strictEqual(await del.text(), "");
  deepStrictEqual(ports(f), []);
  const gone = await f.req("DELETE", ITEM("web"));
  strictEqual(gone.status, 404);
  deepStrictEqual(await body(gone), { message: "Source web doesn't exist" });
  strictEqual((await f.req("POST", ITEM("web"), "{}")).status, 405);
  strictEqual((await f.req("PUT", "/api/source/dyn/sources", "{}")).status, 405);
  // Not a source name: no such route.
  strictEqual((await f.req("GET", "/api/source/dyn/source/a/b/")).status, 404);
  strictEqual((await f.req("GET", "/api/source/dyn/source/%E0%A4%A/")).status, 404);
  strictEqual((await f.req("GET", "/api/source/other/sources")).status, 404);
  // Each change was logged with the peer, what and the answer.
  ok(f.logger.lines.some((l) => l.includes('PUT "web" from 127.0.0.9: 201 created (static)')));
  ok(f.logger.lines.some((l) => l.includes('DELETE "web" from 127.0.0.9: 204 deleted')));
  await f.api.stop();
  await f.close();
});

Deno.test("api: the endpoints are the union of the managed sources' (each host:port once), names in any script", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  await f.api.start();
  strictEqual((await f.req("PUT", ITEM("a"), { source: staticSource(9001) })).status, 201);
  strictEqual((await f.req("PUT", ITEM("b"), { source: staticSource(9001, "again") })).status, 201);
  const name = encodeURIComponent("ünï cødé ☃");
  strictEqual((await f.req("PUT", ITEM(name), { source: staticSource(9003) })).status, 201);
  deepStrictEqual(ports(f), [9001, 9003]);
  deepStrictEqual(await body(await f.req("GET", "/api/source/dyn/sources")), {
    sources: ["a", "b", "ünï cødé ☃"],
  });
  strictEqual((await f.req("DELETE", ITEM("a"))).status, 204);
  deepStrictEqual(ports(f), [9001, 9003], "b still has 9001");
  await f.api.stop();
  await f.close();
});

Deno.test("api: source_class outside the whitelist is 403 with the original's message; spellings of a listed kind pass", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  await f.api.start();
  const serverset = {
    source_class: "tellapart.aurproxy.source.ServerSetSource",
    path: "/sd/x",
    zk_servers: "zk:2181",
  };
  for (
    const source of [serverset, { source_class: "foo.Bar" }, { source_class: "api", name: "x" }]
  ) {
    const r = await f.req("PUT", ITEM("x"), { source });
    strictEqual(r.status, 403);
    deepStrictEqual(await body(r), { message: `Invalid source_class '${source.source_class}'` });
  }
  // The whitelist names kinds: the short name of a listed class is the same kind.
  const short = { ...staticSource(9001), source_class: "static" };
  strictEqual((await f.req("PUT", ITEM("short"), { source: short })).status, 201);
  await f.api.stop();
  await f.close();
  const g = apiFixture({
    clock: new FakeClock(),
    config: { source_class: "api", name: "dyn", source_whitelist: ["serverset"] },
  });
  await g.api.start();
  strictEqual((await g.req("PUT", ITEM("s"), { source: staticSource(9001) })).status, 403);
  await g.api.stop();
  await g.close();
});

Deno.test("api: a source that fails validation is 400 naming every JSON path, as --config would", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  await f.api.start();
  const r = await f.req("PUT", ITEM("x"), {
    source: { source_class: "static", name: "x", host: "1.2.3.4; }", port: 0, extra: 1 },
  });
  strictEqual(r.status, 400);
  deepStrictEqual(await body(r), {
    message:
      'source.extra: unknown key; source.host: expected a hostname or IP address, got "1.2.3.4; }"; ' +
      "source.port: expected an integer 1-65535, got 0",
    errors: [
      "source.extra: unknown key",
      'source.host: expected a hostname or IP address, got "1.2.3.4; }"',
      "source.port: expected an integer 1-65535, got 0",
    ],
  });
  const cases: [unknown, string][] = [
    ["{nope", "(body): not JSON: "],
    ["[1]", "(body): expected an object, got a list"],
    ["null", "(body): expected an object, got null"],
    [{}, "source: expected an object, got undefined"],
    [{ source: "static" }, 'source: expected an object, got "static"'],
    [{ source: staticSource(9001), ttl: 5 }, "ttl: unknown key"],
    [{ source: { port: 1 } }, "source.source_class: required, a string"],
    [
      { source: { source_class: 7 } },
      "source.source_class: expected a non-empty string, got number 7",
    ],
  ];
  for (const [b, message] of cases) {
    const res = await f.req("PUT", ITEM("x"), b);
    strictEqual(res.status, 400, JSON.stringify(b));
    const m = (await body(res) as { message: string }).message;
    ok(m.startsWith(message), `${JSON.stringify(b)}: ${m}`);
  }
  deepStrictEqual(f.api.list(), []);
  await f.api.stop();
  await f.close();
});

Deno.test("api: expirations: the original's 400 messages; a managed source expires on the clock", async () => {
  const clock = new FakeClock();
  const f = apiFixture({ clock });
  await f.api.start();
  let changes = 0;
  f.api.onChange(() => changes++);
  for (
    const [expiration, message] of [
      ["tomorrow", EXPIRATION_UNPARSABLE],
      [12345, EXPIRATION_UNPARSABLE],
      ["2030-02-30T00:00:00Z", EXPIRATION_UNPARSABLE],
      [iso(clock.now() + 59_000), EXPIRATION_TOO_SOON],
      [iso(clock.now() - 3_600_000), EXPIRATION_TOO_SOON],
    ] as const
  ) {
    const r = await f.req("PUT", ITEM("x"), { source: staticSource(9001), expiration });
    strictEqual(r.status, 400, String(expiration));
    deepStrictEqual(await body(r), { message });
  }
  const at = clock.now() + 120_000;
  strictEqual(
    (await f.req("PUT", ITEM("x"), { source: staticSource(9001), expiration: iso(at) })).status,
    201,
  );
  deepStrictEqual(await body(await f.req("GET", ITEM("x"))), {
    source: staticSource(9001),
    expiration: iso(at),
  });
  await clock.advance(119_000);
  deepStrictEqual(ports(f), [9001]);
  await clock.advance(1_000);
  await waitQueue(f);
  deepStrictEqual(ports(f), []);
  deepStrictEqual(f.api.list(), []);
  strictEqual(changes, 2, "added, then expired");
  strictEqual((await f.req("GET", ITEM("x"))).status, 404);
  ok(f.logger.lines.some((l) => l.includes("x expired")));
  // Replacing a source replaces its expiration; a delete cancels it.
  const soon = clock.now() + 60_000;
  await f.req("PUT", ITEM("y"), { source: staticSource(9002), expiration: iso(soon) });
  await f.req("PUT", ITEM("y"), { source: staticSource(9002) });
  await clock.advance(120_000);
  deepStrictEqual(f.api.list(), ["y"]);
  await f.req("PUT", ITEM("z"), {
    source: staticSource(9003),
    expiration: iso(clock.now() + 60_000),
  });
  await f.req("DELETE", ITEM("z"));
  strictEqual(clock.pending, 0, "no timer left for a deleted source");
  await f.api.stop();
  await f.close();
});

Deno.test("api: an expiration beyond setTimeout's range (24.8 days) waits in steps, not at once", async () => {
  const clock = new FakeClock();
  const f = apiFixture({ clock });
  await f.api.start();
  const day = 86_400_000;
  await f.req("PUT", ITEM("x"), {
    source: staticSource(9001),
    expiration: iso(clock.now() + 40 * day),
  });
  await clock.advance(30 * day);
  await waitQueue(f);
  deepStrictEqual(f.api.list(), ["x"]);
  await clock.advance(10 * day);
  await waitQueue(f);
  deepStrictEqual(f.api.list(), []);
  await f.api.stop();
  await f.close();
});

Deno.test("api: a source that fails to start is 500 and changes nothing", async () => {
  const clock = new FakeClock();
  const f = apiFixture({
    clock,
    wrap: (create) => (c) => {
      const s = create(c);
      if (c.kind === "static" && c.port === 9666) {
        return {
          ...s,
          name: s.name,
          start: () => Promise.reject(new Error("boom")),
          stop: () => s.stop(),
          endpoints: () => s.endpoints(),
          onChange: (fn) => s.onChange(fn),
        };
      }
      return s;
    },
  });
  await f.api.start();
  await f.req("PUT", ITEM("x"), { source: staticSource(9001) });
  const r = await f.req("PUT", ITEM("x"), { source: staticSource(9666) });
  strictEqual(r.status, 500);
  deepStrictEqual(await body(r), { message: "Source x failed to start: boom" });
  deepStrictEqual(ports(f), [9001]);
  deepStrictEqual(await body(await f.req("GET", ITEM("x"))), {
    source: staticSource(9001),
    expiration: null,
  });
  await f.api.stop();
  await f.close();
});

Deno.test("api: bodies are bounded at 64 KiB (413), by Content-Length or as a stream; deep nesting is refused", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  await f.api.start();
  const big = JSON.stringify({ source: staticSource(9001), pad: "x".repeat(70_000) });
  const r = await f.req("PUT", ITEM("x"), big);
  strictEqual(r.status, 413);
  deepStrictEqual(await body(r), { message: "Request body larger than 65536 bytes" });
  // A chunked body has no length: it is cut off as soon as it passes the bound.
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      sent += 16_384;
      c.enqueue(new TextEncoder().encode("[".repeat(16_384)));
      if (sent > 10_000_000) c.close();
    },
  });
  const s = await f.req("PUT", ITEM("x"), stream);
  strictEqual(s.status, 413);
  ok(sent < 200_000, `read ${sent} bytes of an endless body`);
  const deep = `{"source": ${"[".repeat(30_000)}${"]".repeat(30_000)}}`;
  const d = await f.req("PUT", ITEM("x"), deep);
  strictEqual(d.status, 400);
  deepStrictEqual(await body(d), { message: "(body): nested deeper than 32 levels" });
  const bad = await f.req("PUT", ITEM("x"), new Uint8Array([0x7b, 0xff, 0x7d]));
  deepStrictEqual(await body(bad), { message: "(body): not UTF-8 text" });
  deepStrictEqual(f.api.list(), []);
  strictEqual(jsonDepth({ a: [{ b: 1 }] }), 3);
  await f.api.stop();
  await f.close();
});

Deno.test("api: PUT and DELETE need the bearer token when one is set; reads do not", async () => {
  const f = apiFixture({ clock: new FakeClock(), token: ApiToken.of("s3cret-token\n") });
  await f.api.start();
  const none = await f.req("PUT", ITEM("x"), { source: staticSource(9001) });
  strictEqual(none.status, 401);
  strictEqual(none.headers.get("www-authenticate"), 'Bearer realm="aurproxy"');
  deepStrictEqual(await body(none), {
    message: "A bearer token is required (Authorization: Bearer <token>)",
  });
  const wrong = await f.req("PUT", ITEM("x"), { source: staticSource(9001) }, {
    authorization: "Bearer s3cret-tokeN",
  });
  strictEqual(wrong.status, 401);
  deepStrictEqual(await body(wrong), { message: "Invalid bearer token" });
  strictEqual((await f.req("DELETE", ITEM("x"))).status, 401);
  const auth = { authorization: "Bearer s3cret-token" };
  strictEqual((await f.req("PUT", ITEM("x"), { source: staticSource(9001) }, auth)).status, 201);
  strictEqual((await f.req("GET", ITEM("x"))).status, 200);
  strictEqual((await f.req("DELETE", ITEM("x"), undefined, auth)).status, 204);
  await f.api.stop();
  await f.close();
});

Deno.test("api: a PUT or DELETE from a foreign Origin is refused (403) by the management port; the API's own origin and none pass", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  await f.api.start();
  for (
    const origin of [
      "http://evil.example",
      "null",
      "http://127.0.0.1:9998",
      "https://127.0.0.1:9999",
    ]
  ) {
    const r = await f.req("PUT", ITEM("x"), { source: staticSource(9001) }, { origin });
    strictEqual(r.status, 403, origin);
    strictEqual((await r.text()).includes("origin"), true, origin);
    strictEqual((await f.req("DELETE", ITEM("x"), undefined, { origin })).status, 403);
  }
  deepStrictEqual(f.api.list(), []);
  const own = { origin: "http://127.0.0.1:9999" };
  strictEqual((await f.req("PUT", ITEM("x"), { source: staticSource(9001) }, own)).status, 201);
  strictEqual((await f.req("DELETE", ITEM("x"), undefined, own)).status, 204);
  await f.api.stop();
  await f.close();
});

Deno.test("api: managed sources and expirations survive a restart through the file; expired and tampered entries are dropped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-api-file-" });
  try {
    const path = `${dir}/state.json.api.json`;
    const clock = new FakeClock();
    const first = apiFixture({ clock, file: await ManagedSourceFile.load(path, memoryLogger()) });
    await first.api.start();
    const later = clock.now() + 3_600_000;
    await first.req("PUT", ITEM("keep"), { source: staticSource(9001), expiration: iso(later) });
    await first.req("PUT", ITEM("short"), {
      source: staticSource(9002),
      expiration: iso(clock.now() + 60_000),
    });
    await first.req("PUT", ITEM("forever"), { source: staticSource(9003) });
    await first.api.stop();
    await first.close();
    const stored = JSON.parse(await Deno.readTextFile(path));
    deepStrictEqual(Object.keys(stored.api_sources.dyn), ["keep", "short", "forever"]);
    strictEqual((await Deno.stat(path)).mode! & 0o777, 0o600);
    // Tamper with one entry: it must be checked again like a PUT.
    stored.api_sources.dyn.evil = {
      source: { source_class: "static", name: "e", host: "1.2.3.4; } server {", port: 80 },
      expiration: null,
      updated_at: iso(clock.now()),
    };
    stored.api_sources.dyn.zk = {
      source: { source_class: "serverset", path: "/x", zk_servers: "zk:2181" },
      expiration: null,
      updated_at: iso(clock.now()),
    };
    await Deno.writeTextFile(path, JSON.stringify(stored));
    await clock.advance(120_000); // "short" expired while aurproxy was down
    const second = apiFixture({ clock, file: await ManagedSourceFile.load(path, memoryLogger()) });
    deepStrictEqual(second.api.list(), ["keep", "forever"]);
    await second.api.start();
    deepStrictEqual(ports(second), [9001, 9003]);
    deepStrictEqual(await body(await second.req("GET", ITEM("keep"))), {
      source: staticSource(9001),
      expiration: iso(later),
    });
    ok(second.logger.lines.some((l) => l.includes("not restoring short") && l.includes("expired")));
    ok(
      second.logger.lines.some((l) =>
        l.includes("not restoring evil") && l.includes("source.host")
      ),
    );
    ok(
      second.logger.lines.some((l) =>
        l.includes("not restoring zk") && l.includes("Invalid source_class")
      ),
    );
    await clock.advance(3_600_000);
    await waitQueue(second);
    deepStrictEqual(second.api.list(), ["forever"]);
    await second.api.stop();
    await second.close();
    deepStrictEqual(Object.keys(JSON.parse(await Deno.readTextFile(path)).api_sources.dyn), [
      "forever",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("api: a file that cannot be written makes the source unhealthy, not the change fail", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-api-file-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    const file = await ManagedSourceFile.load(`${dir}/file/x.api.json`, memoryLogger());
    const f = apiFixture({ clock: new FakeClock(), file });
    await f.api.start();
    strictEqual(f.api.status().healthy, true);
    strictEqual((await f.req("PUT", ITEM("x"), { source: staticSource(9001) })).status, 201);
    deepStrictEqual(ports(f), [9001]);
    strictEqual(f.api.status().healthy, false);
    ok(f.api.status().detail.includes("would not survive a restart"), f.api.status().detail);
    await f.api.stop();
    await f.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("api: changes while stopped are recorded and start with the source; a stopped source is silent", async () => {
  const f = apiFixture({ clock: new FakeClock() });
  let changes = 0;
  f.api.onChange(() => changes++);
  strictEqual((await f.req("PUT", ITEM("early"), { source: staticSource(9001) })).status, 201);
  deepStrictEqual(ports(f), []);
  await f.api.start();
  deepStrictEqual(ports(f), [9001]);
  await f.api.stop();
  strictEqual((await f.req("PUT", ITEM("late"), { source: staticSource(9002) })).status, 201);
  strictEqual(changes, 0);
  await f.api.start();
  deepStrictEqual(ports(f), [9001, 9002]);
  await f.api.stop();
  await f.close();
});

Deno.test("api: two ApiSources of one name are refused at start-up (their routes would clash)", () => {
  const f = apiFixture({ clock: new FakeClock() });
  try {
    f.host.create({ ...f.api.config, path: "--replay-source" });
    throw new Error("expected a UsageError");
  } catch (e) {
    strictEqual(
      (e as Error).message,
      '--replay-source.name: another ApiSource is named "dyn" ' +
        "(servers[0].routes[0].sources[0]); each needs its own name, which is part of its routes",
    );
  }
});

Deno.test("api: ISO-8601 times, with and without offsets", () => {
  strictEqual(parseIsoTime("2030-01-02T03:04:05Z"), Date.UTC(2030, 0, 2, 3, 4, 5));
  strictEqual(parseIsoTime("2030-01-02T03:04:05.123456+02:00"), Date.UTC(2030, 0, 2, 1, 4, 5, 123));
  strictEqual(parseIsoTime("2030-01-02 03:04-0130"), Date.UTC(2030, 0, 2, 4, 34));
  strictEqual(parseIsoTime("2030-01-02T03:04:05"), new Date(2030, 0, 2, 3, 4, 5).getTime());
  strictEqual(parseIsoTime("2030-01-02"), new Date(2030, 0, 2).getTime());
  for (
    const bad of ["2030-13-01", "2030-02-29", "2030-01-01T24:00", "soon", "", "2030-01-01Z", "1e12"]
  ) {
    strictEqual(parseIsoTime(bad), undefined, bad);
  }
  strictEqual(parseIsoTime("2028-02-29T00:00:00Z"), Date.UTC(2028, 1, 29));
  deepStrictEqual(parseExpiration(null, 0), { ok: true, at: null });
  deepStrictEqual(parseExpiration("", 0), { ok: true, at: null });
  deepStrictEqual(parseExpiration(true, 0), { ok: false, message: EXPIRATION_UNPARSABLE });
  deepStrictEqual(parseExpiration(iso(60_000), 0), { ok: true, at: 60_000 });
});

/** Lets the ApiSource finish a change an expiry timer started. */
async function waitQueue(f: ReturnType<typeof apiFixture>): Promise<void> {
  await f.api.delete("\0no such source");
}

Deno.test("api: the ApiSource's share_adjusters apply to every endpoint of its managed sources (theirs are not, as in the original)", async () => {
  const clock = new FakeClock();
  const raw = {
    source_class: "api",
    name: "dyn",
    share_adjusters: [{ share_adjuster_class: "delay_start", seconds: 30 }],
  };
  const f = apiFixture({ clock, config: raw });
  const config = parseConfig({
    backend: "nginx",
    servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [raw] }] }],
  });
  const scheduler = new CheckScheduler({ clock });
  const topology = new Topology(
    // The config's ApiSource is the fixture's (its routes are mounted already).
    { ...config },
    {
      clock,
      logger: f.logger,
      createSource: () => f.api,
      createAdjuster: (a) => adjusterFactory(a, { clock, scheduler, logger: f.logger }),
    },
  );
  await topology.start();
  const managedDelay = { share_adjusters: [{ share_adjuster_class: "delay_start", seconds: 999 }] };
  await f.req("PUT", ITEM("a"), { source: { ...staticSource(9001), ...managedDelay } });
  await f.req("PUT", ITEM("b"), { source: staticSource(9002) });
  const members = () => topology.membersOf(config.servers[0].routes[0]).primary;
  deepStrictEqual(
    members().map((m) => [m.endpoint.port, m.source, m.factors.map((x) => x.share)]),
    [
      [9001, "api.dyn", [0]],
      [9002, "api.dyn", [0]],
    ],
  );
  await clock.advance(30_000);
  deepStrictEqual(members().map((m) => m.factors.map((x) => x.share)), [[1], [1]]);
  ok(f.logger.lines.some((l) => l.includes("share_adjusters of a managed source are not applied")));
  await topology.stop();
  await f.close();
});
