import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseConfig } from "../../lib/config/parse.ts";
import type { AuroraSourceConfig } from "../../lib/config/types.ts";
import { UsageErrors } from "../../lib/errors.ts";

const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

function base(): Record<string, unknown> {
  return {
    backend: "nginx",
    servers: [{
      hosts: ["default"],
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{
          source_class: "tellapart.aurproxy.source.StaticProxySource",
          name: "a",
          host: "127.0.0.1",
          port: 9000,
        }],
      }],
    }],
  };
}

/** Asserts parseConfig rejects `raw` with an error whose message is exactly `message`. */
function rejects(raw: unknown, message: string) {
  throws(() => parseConfig(raw), (e: unknown) => {
    if (!(e instanceof UsageErrors)) throw e;
    const messages = e.errors.map((x) => x.message);
    if (!messages.includes(message)) {
      throw new Error(`expected ${JSON.stringify(message)} among ${JSON.stringify(messages)}`);
    }
    return true;
  });
}

// deno-lint-ignore no-explicit-any
type Any = any;
const edit = (f: (c: Any) => void) => {
  const c = base();
  f(c);
  return c;
};

Deno.test("config: the seed's quick-start --config parses, with original defaults", () => {
  const c = parseConfig(fixture("seed_quickstart.json"));
  const s = c.servers[0];
  deepStrictEqual(s.ports, [8080]);
  deepStrictEqual(s.hosts, ["default"]);
  strictEqual(s.context.default_server, "True");
  const r = s.routes[0];
  strictEqual(r.emptyEndpointStatusCode, 503);
  const src = r.sources[0] as AuroraSourceConfig;
  strictEqual(src.kind, "aurora");
  strictEqual(src.announcerServersetPath, "/aurora/");
  strictEqual(src.endpoint, "http");
  strictEqual(src.zkMemberPrefix, "member_");
  strictEqual(c.nginx.configurationFile, "/etc/aurproxy/nginx/nginx.conf");
  strictEqual(c.nginx.pidPath, "/var/run/nginx.pid");
});

Deno.test("config: the seed's full example parses with both adjusters", () => {
  const c = parseConfig(fixture("seed_full.json"));
  const s = c.servers[0];
  strictEqual(s.healthcheckRoute, "/healthcheck");
  const src = s.routes[0].sources[0] as AuroraSourceConfig;
  strictEqual(src.announcerServersetPath, "sd/mycluster");
  deepStrictEqual(src.shareAdjusters, [
    {
      kind: "ramp",
      path: "servers[0].routes[0].sources[0].share_adjusters[0]",
      rampDelay: 10,
      rampSeconds: 60,
      updateFrequency: 10,
      curve: "linear",
      minShare: 0,
    },
    {
      kind: "http_health",
      path: "servers[0].routes[0].sources[0].share_adjusters[1]",
      route: "/health",
      interval: 3,
      timeout: 2,
      unhealthyThreshold: 2,
      healthyThreshold: 2,
      httpMethod: "GET",
      portName: undefined,
    },
  ]);
});

Deno.test("config: class paths of the original, the seed's prose spellings and short names resolve", () => {
  const kinds: Record<string, string> = {
    "tellapart.aurproxy.source.StaticProxySource": "static",
    "tellapart.aurproxy.source.StaticSource": "static",
    "tellapart.aurproxy.source.sources.static.StaticProxySource": "static",
    "static": "static",
  };
  for (const [cls, kind] of Object.entries(kinds)) {
    const c = parseConfig(edit((c) => c.servers[0].routes[0].sources[0].source_class = cls));
    strictEqual(c.servers[0].routes[0].sources[0].kind, kind, cls);
  }
  for (const cls of ["tellapart.aurproxy.source.AuroraSource", "aurora"]) {
    const c = parseConfig(edit((c) =>
      c.servers[0].routes[0].sources[0] = {
        source_class: cls,
        role: "r",
        environment: "e",
        job: "j",
        zk_servers: "127.0.0.1:2181",
      }
    ));
    strictEqual(c.servers[0].routes[0].sources[0].kind, "aurora", cls);
  }
});

Deno.test("config: unknown class lists the known ones; ApiSource is not supported yet", () => {
  throws(
    () => parseConfig(edit((c) => c.servers[0].routes[0].sources[0].source_class = "foo.Bar")),
    (e: unknown) =>
      e instanceof UsageErrors &&
      e.errors[0].message.startsWith(
        'servers[0].routes[0].sources[0].source_class: unknown class "foo.Bar"; known: static (tellapart.aurproxy.source.StaticProxySource), aurora (',
      ),
  );
  rejects(
    edit((c) =>
      c.servers[0].routes[0].sources[0] = {
        source_class: "tellapart.aurproxy.source.ApiSource",
        name: "replay",
      }
    ),
    "servers[0].routes[0].sources[0].source_class: ApiSource is not supported yet",
  );
});

Deno.test("config: missing and mistyped required keys name their path", () => {
  rejects(
    edit((c) => delete c.servers[0].routes[0].locations),
    "servers[0].routes[0].locations: required, a non-empty list of strings",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = []),
    "servers[0].routes[0].locations: expected a non-empty list of strings, got a list",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = [7]),
    "servers[0].routes[0].locations[0]: expected a non-empty string, got number 7",
  );
  rejects(edit((c) => delete c.backend), 'backend: required, "nginx"');
  rejects(edit((c) => c.backend = "haproxy"), 'backend: expected "nginx", got "haproxy"');
  rejects(edit((c) => delete c.servers), "servers: required, a non-empty list");
  rejects(
    edit((c) => c.servers[0].routes[0].sources = []),
    "servers[0].routes[0].sources: required, a non-empty list",
  );
  rejects(
    edit((c) => delete c.servers[0].routes[0].sources[0].host),
    "servers[0].routes[0].sources[0].host: required, a string",
  );
  rejects(parseConfigInput("[]"), "(config): expected an object, got a list");
});

function parseConfigInput(text: string): unknown {
  return JSON.parse(text);
}

Deno.test("config: ports must be integers 1-65535", () => {
  rejects(
    edit((c) => c.servers[0].ports = [0]),
    "servers[0].ports[0]: expected an integer 1-65535, got 0",
  );
  rejects(
    edit((c) => c.servers[0].ports = [70000]),
    "servers[0].ports[0]: expected an integer 1-65535, got 70000",
  );
  rejects(
    edit((c) => c.servers[0].ports = ["http"]),
    'servers[0].ports[0]: expected an integer 1-65535, got "http"',
  );
  rejects(
    edit((c) => c.servers[0].routes[0].sources[0].port = 65536),
    "servers[0].routes[0].sources[0].port: expected an integer 1-65535, got 65536",
  );
});

Deno.test("config: numeric strings are accepted, as the original was lax", () => {
  const c = parseConfig(edit((c) => {
    c.servers[0].ports = ["8080"];
    c.servers[0].routes[0].sources[0].port = "9000";
  }));
  deepStrictEqual(c.servers[0].ports, [8080]);
  strictEqual((c.servers[0].routes[0].sources[0] as { port: number }).port, 9000);
});

Deno.test("config: the same port on two servers answering the same hosts is refused; virtual hosts are fine", () => {
  const second = (hosts: string[]) =>
    edit((c) => c.servers.push({ ...structuredClone(c.servers[0]), hosts }));
  rejects(
    second(["default"]),
    "servers[1].ports: port 8080 is also used by servers[0]: both answer the same host names",
  );
  const ok = parseConfig(edit((c) => {
    c.servers[0].hosts = ["a.example.com"];
    c.servers.push({ ...structuredClone(c.servers[0]), hosts: ["b.example.com"] });
  }));
  strictEqual(ok.servers.length, 2);
  strictEqual(ok.servers[0].routes[0].slug === ok.servers[1].routes[0].slug, false);
});

Deno.test("config: routes and streams together, or neither, are refused", () => {
  rejects(
    edit((c) => c.servers[0].streams = [{ sources: c.servers[0].routes[0].sources }]),
    "servers[0]: has both routes and streams; a server is either HTTP (routes) or TCP (streams)",
  );
  rejects(
    edit((c) => delete c.servers[0].routes),
    "servers[0]: needs routes (HTTP) or streams (TCP), a non-empty list",
  );
});

Deno.test("config: unknown keys get a did-you-mean; context stays free-form", () => {
  rejects(
    edit((c) => {
      c.servers[0].routes[0].location = ["/"];
    }),
    'servers[0].routes[0].location: unknown key (did you mean "locations"?)',
  );
  rejects(
    edit((c) => c.servers[0].hostz = []),
    'servers[0].hostz: unknown key (did you mean "hosts"?)',
  );
  rejects(edit((c) => c.zzz = 1), "zzz: unknown key");
  const ok = parseConfig(edit((c) => c.servers[0].context = { anything: { goes: [1, "x"] } }));
  deepStrictEqual(ok.servers[0].context, { anything: { goes: [1, "x"] } });
});

Deno.test("config: overflow_threshold_pct must be 0-100", () => {
  rejects(
    edit((c) => c.servers[0].routes[0].overflow_threshold_pct = 120),
    "servers[0].routes[0].overflow_threshold_pct: expected a number 0-100, got 120",
  );
  const ok = parseConfig(edit((c) => c.servers[0].routes[0].overflow_threshold_pct = 75));
  strictEqual(ok.servers[0].routes[0].overflowThresholdPct, 75);
});

Deno.test("config: values that could inject nginx syntax are refused", () => {
  rejects(
    edit((c) => c.context = { worker_processes: "4; user root" }),
    'context.worker_processes: unsafe characters in "4; user root": context values are rendered into nginx.conf and may not contain ; { } quotes # $ \\ or control characters',
  );
  rejects(
    edit((c) => c.servers[0].context = { location_blacklist: ["/x { }"] }),
    'servers[0].context.location_blacklist[0]: unsafe characters in "/x { }": context values are rendered into nginx.conf and may not contain ; { } quotes # $ \\ or control characters',
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = ["/a b"]),
    'servers[0].routes[0].locations[0]: expected an nginx prefix location like "/api" or "= /exact", got "/a b"',
  );
  rejects(
    edit((c) => c.servers[0].routes[0].sources[0].host = "1.2.3.4; }"),
    'servers[0].routes[0].sources[0].host: expected a hostname or IP address, got "1.2.3.4; }"',
  );
  rejects(
    edit((c) => c.servers[0].hosts = ["a b"]),
    'servers[0].hosts[0]: expected a server name like "example.com", "*.example.com" or "default", got "a b"',
  );
  rejects(
    edit((c) => c.servers[0].healthcheck_route = "/h;"),
    'servers[0].healthcheck_route: expected an nginx prefix location like "/api" or "= /exact", got "/h;"',
  );
  // A plain value nginx may still reject is allowed here: nginx -t catches it before reload.
  strictEqual(
    parseConfig(edit((c) => c.context = { worker_connections: "lots" })).context.worker_connections,
    "lots",
  );
});

Deno.test("config: adjuster validation", () => {
  const adj = (a: Record<string, unknown>) =>
    edit((c) => c.servers[0].routes[0].sources[0].share_adjusters = [a]);
  const H = "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster";
  const R = "tellapart.aurproxy.share.adjusters.RampingShareAdjuster";
  const P = "servers[0].routes[0].sources[0].share_adjusters[0]";
  rejects(
    adj({ share_adjuster_class: H, route: "/h", http_method: "POST" }),
    `${P}.http_method: expected GET or HEAD, got "POST"`,
  );
  rejects(adj({ share_adjuster_class: H }), `${P}.route: required, a string`);
  rejects(
    adj({ share_adjuster_class: H, route: "/h", interval: 1, timeout: 2 }),
    `${P}.timeout: must not exceed interval (1), got 2`,
  );
  rejects(
    adj({ share_adjuster_class: R, ramp_delay: 1, ramp_seconds: 1 }),
    `${P}.update_frequency: required, a number > 0`,
  );
  rejects(
    adj({
      share_adjuster_class: R,
      ramp_delay: 1,
      ramp_seconds: 1,
      update_frequency: 1,
      curve: "cubic",
    }),
    `${P}.curve: expected "linear" or "quadratic", got "cubic"`,
  );
  rejects(
    adj({ share_adjuster_class: "x.Y" }),
    `${P}.share_adjuster_class: unknown class "x.Y"; known: http_health (tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster), ramp (tellapart.aurproxy.share.adjusters.RampingShareAdjuster), delay_start (tellapart.aurproxy.share.adjusters.DelayStartShareAdjuster)`,
  );
  const ok = parseConfig(adj({ share_adjuster_class: "delay_start", seconds: "5" }));
  deepStrictEqual(ok.servers[0].routes[0].sources[0].shareAdjusters[0], {
    kind: "delay_start",
    path: P,
    seconds: 5,
  });
  const head = parseConfig(
    adj({ share_adjuster_class: H, route: "/h", http_method: "head", port_name: "health" }),
  );
  const h = head.servers[0].routes[0].sources[0].shareAdjusters[0];
  strictEqual(h.kind === "http_health" && h.httpMethod === "HEAD" && h.portName === "health", true);
});

Deno.test("config: zk_servers entries must be host:port", () => {
  rejects(
    edit((c) =>
      c.servers[0].routes[0].sources[0] = {
        source_class: "aurora",
        role: "r",
        environment: "e",
        job: "j",
        zk_servers: "zk1:2181,zk2",
      }
    ),
    'servers[0].routes[0].sources[0].zk_servers: expected "host:port,host:port", bad entry "zk2"',
  );
});

Deno.test("config: template_file is refused; every error is reported at once", () => {
  throws(() =>
    parseConfig(edit((c) => {
      c.template_file = "x";
      c.servers[0].ports = [0];
      delete c.servers[0].routes[0].locations;
    })), (e: unknown) => {
    const m = (e as UsageErrors).errors.map((x) => x.message);
    deepStrictEqual(m.sort(), [
      "servers[0].ports[0]: expected an integer 1-65535, got 0",
      "servers[0].routes[0].locations: required, a non-empty list of strings",
      "template_file: not supported: the nginx template is built in",
    ]);
    return true;
  });
});

Deno.test("config: upstream slugs are nginx-safe, unique and stable", () => {
  const c = parseConfig(edit((c) => {
    c.servers[0].routes.push({
      ...structuredClone(c.servers[0].routes[0]),
      locations: ["/api/v1"],
    });
  }));
  const slugs = c.servers[0].routes.map((r) => r.slug);
  deepStrictEqual(slugs, ["s_default_8080_r0_root", "s_default_8080_r1_api_v1"]);
  for (const s of slugs) strictEqual(/^[A-Za-z0-9_]+$/.test(s), true);
});

Deno.test("config: every file in examples/ is valid", async () => {
  let n = 0;
  for await (const e of Deno.readDir(new URL("../../examples/", import.meta.url))) {
    if (!e.name.endsWith(".json")) continue;
    const text = await Deno.readTextFile(new URL(`../../examples/${e.name}`, import.meta.url));
    parseConfig(JSON.parse(text));
    n++;
  }
  strictEqual(n >= 3, true, "expected example configs");
});
