// A route's nginx mirror keys: parsed with their defaults and errors, built into the
// snapshot as a pool of its own, and rendered (split_clients, mirror, the internal
// location with its timeouts), checked by nginx -t.

import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { renderNginx } from "../../lib/backends/nginx/render.ts";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { UsageErrors } from "../../lib/errors.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { MIRROR_DEFAULTS, type PoolsConfig } from "../../lib/model/config.ts";
import type { PoolMember } from "../../lib/model/pool_member.ts";
import { buildSnapshot } from "../../lib/pipeline/snapshot_builder.ts";

const stat = (name: string, port: number) => ({
  source_class: "static",
  name,
  host: "127.0.0.1",
  port,
});

function config(route: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    backend: "nginx",
    servers: [{
      ports: [8080],
      routes: [{ locations: ["/", "/api"], sources: [stat("web", 9001)], ...route }],
      ...extra,
    }],
  };
}

const mirrored = (more: Record<string, unknown> = {}) => ({
  mirror_sources: [stat("shadow", 9100)],
  ...more,
});

function errors(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof UsageErrors) return e.errors.map((x) => x.message);
    throw e;
  }
  throw new Error("expected errors");
}

/** A snapshot where each pool has the static endpoints its config names (`live` ones). */
function snap(raw: unknown, dead: readonly number[] = []) {
  const c = parseConfig(raw);
  const members = (pools: PoolsConfig): PoolMember[] =>
    pools.sources.flatMap((s) =>
      s.kind === "static" && !dead.includes(s.port)
        ? [{
          endpoint: { host: s.host, port: s.port, ports: { default: s.port } },
          source: `static.${s.name}`,
          factors: [],
        }]
        : []
    );
  return buildSnapshot(c, (p) => ({ primary: members(p), overflow: [] }), {
    adjust: true,
    now: 0,
  });
}

const R0 = "s_any_8080_r0_root";

Deno.test("mirror keys: defaults declared once, the mirror a pool of its own", () => {
  const route = parseConfig(config(mirrored())).servers[0].routes[0];
  deepStrictEqual(route.mirror, {
    path: "servers[0].routes[0]",
    slug: `${R0}_mirror`,
    sources: [{
      kind: "static",
      path: "servers[0].routes[0].mirror_sources[0]",
      shareAdjusters: [],
      name: "shadow",
      host: "127.0.0.1",
      port: 9100,
    }],
    overflowSources: [],
    percent: MIRROR_DEFAULTS.percent,
    key: "$request_id",
    requestBody: true,
    connectTimeoutSeconds: 0.2,
    timeoutSeconds: 0.5,
  });
  strictEqual(parseConfig(config({})).servers[0].routes[0].mirror, undefined);
  const tuned = parseConfig(config(mirrored({
    mirror_percent: "12.5",
    mirror_key: "$remote_addr:$http_x_user",
    mirror_request_body: "False",
    mirror_connect_timeout: 0.05,
    mirror_timeout: 2,
  }))).servers[0].routes[0].mirror!;
  deepStrictEqual(
    [
      tuned.percent,
      tuned.key,
      tuned.requestBody,
      tuned.connectTimeoutSeconds,
      tuned.timeoutSeconds,
    ],
    [12.5, "$remote_addr:$http_x_user", false, 0.05, 2],
  );
});

Deno.test("mirror keys: every problem named by its path", () => {
  deepStrictEqual(
    errors(config(mirrored({
      mirror_percent: 100.5,
      mirror_key: '$x"; }',
      mirror_request_body: "yes",
      mirror_connect_timeout: 0,
      mirror_timeout: -1,
    }))),
    [
      "servers[0].routes[0].mirror_percent: expected a number 0-100, got 100.5",
      'servers[0].routes[0].mirror_key: expected nginx variables (and letters, digits, ".", ":", ' +
      '"-", "_") like "$request_id" or "$remote_addr", got "$x\\"; }"',
      'servers[0].routes[0].mirror_request_body: expected true or false, got "yes"',
      "servers[0].routes[0].mirror_connect_timeout: expected a number > 0, got 0",
      "servers[0].routes[0].mirror_timeout: expected a number > 0, got -1",
    ],
  );
  deepStrictEqual(errors(config(mirrored({ mirror_percent: 33.333 }))), [
    "servers[0].routes[0].mirror_percent: expected at most two decimals, got 33.333",
  ]);
  deepStrictEqual(errors(config({ mirror_percent: 10 })), [
    "servers[0].routes[0].mirror_percent: only with mirror_sources (the pool requests are copied to)",
  ]);
  deepStrictEqual(errors(config({ mirror_sources: [] })), [
    "servers[0].routes[0].mirror_sources: required, a non-empty list",
  ]);
  deepStrictEqual(errors(config(mirrored({ mirror_sources: [{ source_class: "static" }] }))), [
    "servers[0].routes[0].mirror_sources[0].name: required, a string",
    "servers[0].routes[0].mirror_sources[0].host: required, a string",
    "servers[0].routes[0].mirror_sources[0].port: required, an integer 1-65535",
  ]);
  const stream = {
    backend: "nginx",
    servers: [{ ports: [9000], streams: [{ sources: [stat("db", 5432)], ...mirrored() }] }],
  };
  deepStrictEqual(errors(stream), [
    "servers[0].streams[0].mirror_sources: unknown key: only routes (HTTP) can mirror requests",
  ]);
});

Deno.test("mirror render: a sample by split_clients, the mirror directive in each location, an internal location with short timeouts", () => {
  const text = renderNginx(snap(config(mirrored({ mirror_percent: 25 }))), { pidPath: "/x.pid" });
  ok(text.includes(`    upstream ${R0}_mirror {\n`), text);
  ok(text.includes("        server 127.0.0.1:9100 weight="), text);
  ok(
    text.includes(`    split_clients "$request_id" $aurproxy_mirror_${R0} {
        25% 1;
        * "";
    }
`),
    text,
  );
  for (const loc of ["/", "/api"]) {
    ok(
      text.includes(`        location ${loc} {
            mirror /_aurproxy_mirror/${R0};
            mirror_request_body on;
            proxy_pass http://${R0};
        }
`),
      loc,
    );
  }
  ok(
    text.includes(`        location = /_aurproxy_mirror/${R0} {
            internal;
            if ($aurproxy_mirror_${R0} = "") {
                return 204;
            }
            proxy_pass http://${R0}_mirror$request_uri;
            proxy_connect_timeout 200ms;
            proxy_send_timeout 500ms;
            proxy_read_timeout 500ms;
            proxy_next_upstream off;
        }
`),
    text,
  );
  // Everything: no sample; without bodies: none is sent, and the headers stay.
  const all = renderNginx(snap(config(mirrored({ mirror_request_body: false }))), {
    pidPath: "/x.pid",
  });
  strictEqual(all.includes("split_clients"), false);
  strictEqual(all.includes("return 204"), false);
  ok(all.includes("mirror_request_body off;"));
  ok(all.includes('proxy_pass_request_body off;\n            proxy_set_header Content-Length "";'));
  ok(all.includes("proxy_set_header Host $host;\n            proxy_set_header X-Real-IP"));
});

Deno.test("mirror render: nothing is copied at 0%, without a live mirror endpoint, or without a live primary", () => {
  const none = renderNginx(snap(config({})), { pidPath: "/x.pid" });
  for (
    const [what, text] of [
      ["0%", renderNginx(snap(config(mirrored({ mirror_percent: 0 }))), { pidPath: "/x.pid" })],
      ["no mirror endpoint", renderNginx(snap(config(mirrored()), [9100]), { pidPath: "/x.pid" })],
    ]
  ) {
    strictEqual(text, none, what);
  }
  const noPrimary = renderNginx(snap(config(mirrored()), [9001]), { pidPath: "/x.pid" });
  strictEqual(noPrimary.includes("mirror"), false, noPrimary);
  ok(noPrimary.includes("return 503;"));
});

Deno.test("mirror render: nginx -t accepts it (sampled, everything, without bodies, with a key)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-mirror-t-" });
  try {
    const backend = new NginxBackend({
      configurationFile: `${dir}/conf/nginx.conf`,
      pidPath: `${dir}/nginx.pid`,
      binary: "nginx",
      prefix: dir,
    }, { logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") });
    for (
      const more of [
        { mirror_percent: 12.34, mirror_key: "$remote_addr$request_uri" },
        { mirror_request_body: false, mirror_timeout: 3 },
      ]
    ) {
      const r = await backend.validate(snap(config(mirrored(more))));
      strictEqual(r.ok, true, JSON.stringify(r));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mirror snapshot: an unchanged mirror pool is reused with its route; a changed one is rebuilt", () => {
  const c = parseConfig(config(mirrored()));
  let mirrorPort = 9100;
  const membersOf = (p: PoolsConfig) => ({
    primary: [{
      endpoint: {
        host: "127.0.0.1",
        port: p === c.servers[0].routes[0].mirror ? mirrorPort : 9001,
        ports: {},
      },
      source: "s",
      factors: [],
    }],
    overflow: [],
  });
  const a = buildSnapshot(c, membersOf, { adjust: true, now: 0 });
  const b = buildSnapshot(c, membersOf, { adjust: true, now: 1, previous: a });
  strictEqual(b.servers[0], a.servers[0]);
  mirrorPort = 9101;
  const d = buildSnapshot(c, membersOf, { adjust: true, now: 2, previous: b });
  strictEqual(d.servers[0].routes[0].mirror!.endpoints[0].port, 9101);
  throws(() => {
    (d.servers[0].routes[0].mirror as { percent: number }).percent = 1;
  }, TypeError);
});
