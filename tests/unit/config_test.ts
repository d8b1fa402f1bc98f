import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { markSupported, markUnsupported, resolveClass } from "../../lib/config/kind.ts";
import { didYouMean } from "../../lib/config/did_you_mean.ts";
import { BUILTIN_KINDS, type ConfigOptions, parseConfig } from "../../lib/kinds.ts";
import { nginxBackend } from "../../lib/backends/nginx/kind.ts";
import { optionsFor } from "../../lib/backends/table.ts";
import type { ProxyConfig } from "../../lib/model/config.ts";
import { usageErrors } from "../../testing/usage_errors.ts";

const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

const SRC = "tellapart.aurproxy.source";
const ADJ = "tellapart.aurproxy.share.adjusters";
const S0 = "servers[0].routes[0].sources[0]";
const A0 = `${S0}.share_adjusters[0]`;

// deno-lint-ignore no-explicit-any
type Any = any;

function base(): Any {
  return {
    backend: "nginx",
    servers: [{
      hosts: ["default"],
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{
          source_class: `${SRC}.StaticProxySource`,
          name: "a",
          host: "127.0.0.1",
          port: 9000,
        }],
      }],
    }],
  };
}

const edit = (f: (c: Any) => void) => {
  const c = base();
  f(c);
  return c;
};
const withSource = (src: Record<string, unknown>) =>
  edit((c) => c.servers[0].routes[0].sources[0] = src);
const withAdjuster = (a: Record<string, unknown>) =>
  edit((c) => c.servers[0].routes[0].sources[0].share_adjusters = [a]);
const aurora = (extra: Record<string, unknown> = {}) => ({
  source_class: "aurora",
  role: "r",
  environment: "e",
  job: "j",
  zk_servers: "127.0.0.1:2181",
  ...extra,
});
const health = (extra: Record<string, unknown> = {}) => ({
  share_adjuster_class: "http_health",
  route: "/h",
  ...extra,
});
const ramp = (extra: Record<string, unknown> = {}) => ({
  share_adjuster_class: "ramp",
  ramp_delay: 0,
  ramp_seconds: 60,
  update_frequency: 5,
  ...extra,
});

/** Every error parseConfig reports for `raw`, as `path: reason` messages. */
function errorsOf(raw: unknown, options?: ConfigOptions): string[] {
  const errors = usageErrors(() => parseConfig(raw, options));
  for (const x of errors) strictEqual(x.message, `${x.path}: ${x.reason}`);
  return errors.map((x) => x.message);
}

/** Asserts parseConfig reports exactly this error (path and reason), among others. */
function rejects(raw: unknown, path: string, reason: string, options?: ConfigOptions) {
  const messages = errorsOf(raw, options);
  const want = `${path}: ${reason}`;
  ok(messages.includes(want), `expected ${JSON.stringify(want)} among ${JSON.stringify(messages)}`);
}

/** Asserts `raw` is refused with exactly one error, at `path`. */
function rejectsOnly(raw: unknown, path: string, reason: string) {
  deepStrictEqual(errorsOf(raw), [`${path}: ${reason}`]);
}

const src0 = (c: ProxyConfig) => c.servers[0].routes[0].sources[0];
const adj0 = (c: ProxyConfig) => src0(c).shareAdjusters[0];

Deno.test("config: the seed's quick-start --config parses into the expected model", () => {
  const P = "servers[0].routes[0]";
  deepStrictEqual(parseConfig(fixture("seed_quickstart.json")), {
    backend: "nginx",
    context: {},
    backendOptions: {
      configurationFile: "/etc/aurproxy/nginx/nginx.conf",
      pidPath: "/var/run/nginx.pid",
      statsPort: undefined,
      binary: "nginx",
      prefix: undefined,
    },
    servers: [{
      path: "servers[0]",
      slug: "s_default_8080",
      hosts: ["default"],
      ports: [8080],
      healthcheckRoute: undefined,
      context: {
        default_server: "True",
        location_blacklist: ["/health", "/quitquitquit", "/abortabortabort"],
      },
      routes: [{
        path: P,
        slug: "s_default_8080_r0_root",
        locations: ["/"],
        emptyEndpointStatusCode: 503,
        overflowSources: [],
        overflowThresholdPct: undefined,
        sources: [{
          path: `${P}.sources[0]`,
          kind: "aurora",
          shareAdjusters: [],
          role: "myrole",
          environment: "devel",
          job: "web",
          zkServers:
            "0.zk.mycluster.mydomain.com:2181,1.zk.mycluster.mydomain.com:2181,2.zk.mycluster.mydomain.com:2181",
          announcerServersetPath: "/aurora/",
          endpoint: "http",
          zkMemberPrefix: undefined,
        }],
      }],
      streams: [],
    }],
  });
});

Deno.test("config: the seed's full example parses with its ramp and health adjusters", () => {
  const c = parseConfig(fixture("seed_full.json"));
  const s = c.servers[0];
  strictEqual(s.healthcheckRoute, "/healthcheck");
  deepStrictEqual(s.ports, [10080]);
  strictEqual(s.slug, "s_default_10080");
  const src = src0(c);
  strictEqual(src.kind, "aurora");
  strictEqual(src.kind === "aurora" && src.announcerServersetPath, "sd/mycluster");
  strictEqual(
    src.kind === "aurora" && `${src.role}/${src.environment}/${src.job}`,
    "myrole/prod/myjob",
  );
  deepStrictEqual(src.shareAdjusters, [
    {
      kind: "ramp",
      path: `${S0}.share_adjusters[0]`,
      rampDelay: 10,
      rampSeconds: 60,
      updateFrequency: 10,
      curve: "linear",
      minShare: 0,
    },
    {
      kind: "http_health",
      path: `${S0}.share_adjusters[1]`,
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

Deno.test("config: defaults of the original apply to omitted keys", () => {
  const c = parseConfig(edit((c) => {
    delete c.servers[0].hosts;
    c.servers[0].routes[0].sources = [
      aurora({ share_adjusters: [health(), ramp()] }),
      { source_class: "serverset", path: "/sd/web", zk_servers: "zk:2181" },
    ];
  }));
  deepStrictEqual(c.context, {});
  deepStrictEqual(optionsFor(nginxBackend, c), {
    configurationFile: "/etc/aurproxy/nginx/nginx.conf",
    pidPath: "/var/run/nginx.pid",
    statsPort: undefined,
    binary: "nginx",
    prefix: undefined,
  });
  const s = c.servers[0];
  deepStrictEqual(s.hosts, []);
  strictEqual(s.slug, "s_any_8080");
  deepStrictEqual(s.context, {});
  const r = s.routes[0];
  strictEqual(r.emptyEndpointStatusCode, 503);
  deepStrictEqual(r.overflowSources, []);
  strictEqual(r.overflowThresholdPct, undefined);
  const [a, ss] = r.sources;
  strictEqual(a.kind === "aurora" && a.announcerServersetPath, "/aurora/");
  // The original took every child of the path when no prefix was given (issue 8, B7).
  strictEqual(a.kind === "aurora" && a.zkMemberPrefix, undefined);
  strictEqual(a.kind === "aurora" && a.endpoint, undefined);
  strictEqual(ss.kind === "serverset" && ss.zkMemberPrefix, undefined);
  strictEqual(ss.kind === "serverset" && ss.zkPath, "/sd/web");
  deepStrictEqual(a.shareAdjusters.map((x) => ({ ...x, path: "" })), [
    {
      kind: "http_health",
      path: "",
      route: "/h",
      // HttpHealthCheckShareAdjuster's defaults in the original (issue 8, B3).
      interval: 5,
      timeout: 3,
      unhealthyThreshold: 2,
      healthyThreshold: 2,
      httpMethod: "GET",
      portName: undefined,
    },
    {
      kind: "ramp",
      path: "",
      rampDelay: 0,
      rampSeconds: 60,
      updateFrequency: 5,
      curve: "linear",
      minShare: 0,
    },
  ]);
});

Deno.test("config: nginx options at the top level", () => {
  const c = parseConfig(edit((c) => {
    c.configuration_file = "/tmp/x/nginx.conf";
    c.nginx_pid_path = "/tmp/x/nginx.pid";
    c.stats_port = "8081";
    c.nginx_binary = "/opt/nginx/sbin/nginx";
    c.nginx_prefix = "/tmp/x";
  }));
  deepStrictEqual(optionsFor(nginxBackend, c), {
    configurationFile: "/tmp/x/nginx.conf",
    pidPath: "/tmp/x/nginx.pid",
    statsPort: 8081,
    binary: "/opt/nginx/sbin/nginx",
    prefix: "/tmp/x",
  });
  rejects(
    edit((c) => c.configuration_file = "/tmp/a b.conf"),
    "configuration_file",
    `expected a file path without spaces, ; { } quotes # $ \\ or control characters, got "/tmp/a b.conf"`,
  );
  rejects(
    edit((c) => c.nginx_pid_path = "/run/x.pid; user root"),
    "nginx_pid_path",
    `expected a file path without spaces, ; { } quotes # $ \\ or control characters, got "/run/x.pid; user root"`,
  );
  rejects(edit((c) => c.stats_port = 0), "stats_port", "expected an integer 1-65535, got 0");
  rejects(edit((c) => c.stats_port = 8080), "stats_port", "port 8080 is also used by servers[0]");
  rejects(
    edit((c) => c.nginx_binary = 5),
    "nginx_binary",
    "expected a non-empty string, got number 5",
  );
  rejectsOnly(
    edit((c) => c.template_file = "/etc/nginx.conf.template"),
    "template_file",
    "not supported: the nginx template is built in",
  );
});

Deno.test("config: every spelling of every class resolves to its kind", () => {
  const sources: Record<string, [string, Record<string, unknown>]> = {
    static: ["static", { name: "a", host: "127.0.0.1", port: 9000 }],
    aurora: ["aurora", { role: "r", environment: "e", job: "j", zk_servers: "zk:2181" }],
    serverset: ["serverset", { path: "/sd/x", zk_servers: "zk:2181" }],
    mesos: ["mesos_master", { mesos_master_path: "/mesos", zk_servers: "zk:2181" }],
  };
  const spellings: [string, keyof typeof sources][] = [
    [`${SRC}.StaticProxySource`, "static"],
    [`${SRC}.StaticSource`, "static"],
    [`${SRC}.sources.static.StaticProxySource`, "static"],
    ["static", "static"],
    [`${SRC}.AuroraProxySource`, "aurora"],
    [`${SRC}.AuroraSource`, "aurora"],
    [`${SRC}.sources.aurora.AuroraProxySource`, "aurora"],
    ["aurora", "aurora"],
    [`${SRC}.ServerSetSource`, "serverset"],
    [`${SRC}.sources.serverset.ServerSetSource`, "serverset"],
    ["serverset", "serverset"],
    [`${SRC}.MesosMasterProxySource`, "mesos"],
    [`${SRC}.sources.mesos.MesosMasterProxySource`, "mesos"],
    ["mesos_master", "mesos"],
  ];
  for (const [cls, which] of spellings) {
    const [kind, args] = sources[which];
    strictEqual(src0(parseConfig(withSource({ source_class: cls, ...args }))).kind, kind, cls);
  }
  const adjusters: [string, Record<string, unknown>, string][] = [
    [`${ADJ}.HttpHealthCheckShareAdjuster`, { route: "/h" }, "http_health"],
    [`${ADJ}.health.HttpHealthCheckShareAdjuster`, { route: "/h" }, "http_health"],
    ["http_health", { route: "/h" }, "http_health"],
    [`${ADJ}.RampingShareAdjuster`, ramp(), "ramp"],
    [`${ADJ}.ramp.RampingShareAdjuster`, ramp(), "ramp"],
    ["ramp", ramp(), "ramp"],
    [`${ADJ}.DelayStartShareAdjuster`, { seconds: 5 }, "delay_start"],
    [`${ADJ}.delay.DelayStartShareAdjuster`, { seconds: 5 }, "delay_start"],
    ["delay_start", { seconds: 5 }, "delay_start"],
  ];
  for (const [cls, args, kind] of adjusters) {
    const c = parseConfig(withAdjuster({ ...args, share_adjuster_class: cls }));
    strictEqual(adj0(c).kind, kind, cls);
  }
});

Deno.test("config: unknown classes list the known ones, with a did-you-mean when close", () => {
  const known = "known: static (tellapart.aurproxy.source.StaticProxySource), " +
    "aurora (tellapart.aurproxy.source.AuroraProxySource), " +
    "serverset (tellapart.aurproxy.source.ServerSetSource), " +
    "mesos_master (tellapart.aurproxy.source.MesosMasterProxySource), " +
    "api (tellapart.aurproxy.source.ApiSource)";
  rejectsOnly(
    withSource({ source_class: "foo.Bar" }),
    `${S0}.source_class`,
    `unknown class "foo.Bar"; ${known}`,
  );
  rejects(
    withSource({ source_class: `${SRC}.AuroraProxySorce` }),
    `${S0}.source_class`,
    `unknown class "${SRC}.AuroraProxySorce" (did you mean "${SRC}.AuroraProxySource"?); ${known}`,
  );
  rejectsOnly(
    withAdjuster({ share_adjuster_class: "x.Y" }),
    `${A0}.share_adjuster_class`,
    `unknown class "x.Y"; known: http_health (${ADJ}.HttpHealthCheckShareAdjuster), ` +
      `ramp (${ADJ}.RampingShareAdjuster), delay_start (${ADJ}.DelayStartShareAdjuster)`,
  );
  rejects(withSource({ name: "x" }), `${S0}.source_class`, "required, a string");
  rejects(
    withAdjuster({ share_adjuster_class: 3 }),
    `${A0}.share_adjuster_class`,
    "expected a non-empty string, got number 3",
  );
});

Deno.test("config: ApiSource: name required and URL-safe, the original's default whitelist, no ApiSource managing ApiSources", () => {
  for (const cls of [`${SRC}.ApiSource`, `${SRC}.sources.api.ApiSource`, "api"]) {
    deepStrictEqual(src0(parseConfig(withSource({ source_class: cls, name: "replay" }))), {
      kind: "api",
      path: S0,
      shareAdjusters: [],
      name: "replay",
      sourceWhitelist: [`${SRC}.StaticProxySource`, `${SRC}.AuroraProxySource`],
    });
  }
  rejectsOnly(withSource({ source_class: "api" }), `${S0}.name`, "required, a string");
  rejectsOnly(
    withSource({ source_class: "api", name: "a/b" }),
    `${S0}.name`,
    'expected letters, digits, ".", "_", "~" or "-" (at most 100; the name is part of ' +
      'the API\'s URLs), got "a/b"',
  );
  rejectsOnly(
    withSource({
      source_class: "api",
      name: "r",
      source_whitelist: ["static", `${SRC}.ApiSource`],
    }),
    `${S0}.source_whitelist[1]`,
    "an ApiSource cannot manage ApiSources",
  );
  strictEqual(resolveClass(BUILTIN_KINDS.sources, "api").ok, true);
  rejects(
    withSource({ source_class: "api", name: "replay" }),
    `${S0}.source_class`,
    "ApiSource is not supported yet",
    { kinds: markUnsupported(BUILTIN_KINDS, "api") },
  );
});

Deno.test("config: callers can mark kinds unsupported (or supported) without touching the defaults", () => {
  const noMesos = markUnsupported(BUILTIN_KINDS, "mesos_master", "Mesos is not available here");
  const mesos = withSource({
    source_class: "mesos_master",
    mesos_master_path: "/m",
    zk_servers: "zk:2181",
  });
  rejects(mesos, `${S0}.source_class`, "Mesos is not available here", { kinds: noMesos });
  strictEqual(src0(parseConfig(mesos)).kind, "mesos_master");
  const noRamp = markUnsupported(BUILTIN_KINDS, "ramp");
  rejects(
    withAdjuster(ramp()),
    `${A0}.share_adjuster_class`,
    "RampingShareAdjuster is not supported yet",
    {
      kinds: noRamp,
    },
  );
  const withApi = markSupported(BUILTIN_KINDS, "api");
  const api = parseConfig(
    withSource({
      source_class: "api",
      name: "replay",
      source_whitelist: [`${SRC}.StaticProxySource`],
    }),
    { kinds: withApi },
  );
  deepStrictEqual(src0(api), {
    kind: "api",
    path: S0,
    shareAdjusters: [],
    name: "replay",
    sourceWhitelist: [`${SRC}.StaticProxySource`],
  });
  rejects(
    withSource({ source_class: "api", name: "replay", source_whitelist: ["x.Nope"] }),
    `${S0}.source_whitelist[0]`,
    'unknown source class "x.Nope"',
    { kinds: withApi },
  );
  strictEqual(resolveClass(markUnsupported(BUILTIN_KINDS, "api").sources, "api").ok, false);
  throws(() => markUnsupported(BUILTIN_KINDS, "nope"), RangeError);
});

Deno.test("config: numbers may be numeric strings, as the original was lax; others are refused", () => {
  const c = parseConfig(edit((c) => {
    c.servers[0].ports = ["8080", 8443];
    c.servers[0].routes[0].empty_endpoint_status_code = "502";
    c.servers[0].routes[0].overflow_threshold_pct = " 75.5 ";
    c.servers[0].routes[0].sources[0].port = "9000";
    c.servers[0].routes[0].sources[0].share_adjusters = [
      ramp({ ramp_delay: "90", ramp_seconds: "60", update_frequency: "2.5", min_share: "0.1" }),
      health({ interval: "10", timeout: "1.5", healthy_threshold: "3" }),
      { share_adjuster_class: "delay_start", seconds: "5" },
    ];
  }));
  const r = c.servers[0].routes[0];
  deepStrictEqual(c.servers[0].ports, [8080, 8443]);
  strictEqual(r.emptyEndpointStatusCode, 502);
  strictEqual(r.overflowThresholdPct, 75.5);
  const s = src0(c);
  strictEqual(s.kind === "static" && s.port, 9000);
  const [rp, h, d] = s.shareAdjusters;
  strictEqual(
    rp.kind === "ramp" && [rp.rampDelay, rp.rampSeconds, rp.updateFrequency, rp.minShare].join(),
    "90,60,2.5,0.1",
  );
  strictEqual(
    h.kind === "http_health" && [h.interval, h.timeout, h.healthyThreshold].join(),
    "10,1.5,3",
  );
  strictEqual(d.kind === "delay_start" && d.seconds, 5);

  rejects(
    withAdjuster(ramp({ ramp_delay: "abc" })),
    `${A0}.ramp_delay`,
    'expected a number >= 0, got "abc"',
  );
  rejects(
    withAdjuster(ramp({ ramp_delay: "0x10" })),
    `${A0}.ramp_delay`,
    'expected a number >= 0, got "0x10"',
  );
  rejects(
    withAdjuster(ramp({ ramp_delay: "" })),
    `${A0}.ramp_delay`,
    'expected a number >= 0, got ""',
  );
  rejects(
    withAdjuster(ramp({ ramp_delay: true })),
    `${A0}.ramp_delay`,
    "expected a number >= 0, got boolean true",
  );
  rejects(
    edit((c) => c.servers[0].ports = ["http"]),
    "servers[0].ports[0]",
    'expected an integer 1-65535, got "http"',
  );
  rejects(
    edit((c) => c.servers[0].ports = ["80.5"]),
    "servers[0].ports[0]",
    'expected an integer 1-65535, got "80.5"',
  );
});

Deno.test("config: required and mistyped keys name their JSON path", () => {
  rejects(edit((c) => delete c.backend), "backend", 'required, one of "nginx", "haproxy"');
  rejects(
    edit((c) => c.backend = "hap"),
    "backend",
    'expected one of "nginx", "haproxy", got "hap"',
  );
  rejects(edit((c) => delete c.servers), "servers", "required, a non-empty list");
  rejects(edit((c) => c.servers = []), "servers", "required, a non-empty list");
  rejects(edit((c) => c.servers = {}), "servers", "expected a list, got an object");
  rejects(edit((c) => c.servers.push("x")), "servers[1]", 'expected an object, got "x"');
  rejectsOnly([], "(config)", "expected an object, got an empty list");
  rejectsOnly(null, "(config)", "expected an object, got null");
  rejects(edit((c) => c.context = []), "context", "expected an object, got an empty list");

  rejects(edit((c) => delete c.servers[0].ports), "servers[0].ports", "required, a non-empty list");
  rejects(edit((c) => c.servers[0].ports = []), "servers[0].ports", "required, a non-empty list");
  rejects(
    edit((c) => c.servers[0].ports = [0]),
    "servers[0].ports[0]",
    "expected an integer 1-65535, got 0",
  );
  rejects(
    edit((c) => c.servers[0].ports = [65536]),
    "servers[0].ports[0]",
    "expected an integer 1-65535, got 65536",
  );
  rejects(
    edit((c) => c.servers[0].ports = [80, 80]),
    "servers[0].ports[1]",
    "port 80 is listed twice",
  );
  rejects(
    edit((c) => c.servers[0].hosts = "example.com"),
    "servers[0].hosts",
    'expected a list of strings, got "example.com"',
  );

  const R = "servers[0].routes[0]";
  rejectsOnly(
    edit((c) => delete c.servers[0].routes[0].locations),
    `${R}.locations`,
    "required, a non-empty list of strings",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = []),
    `${R}.locations`,
    "expected a non-empty list of strings, got an empty list",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = [7]),
    `${R}.locations[0]`,
    "expected a non-empty string, got number 7",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].locations = "/"),
    `${R}.locations`,
    'expected a non-empty list of strings, got "/"',
  );
  rejects(
    edit((c) => c.servers[0].routes[0].sources = []),
    `${R}.sources`,
    "required, a non-empty list",
  );
  rejects(
    edit((c) => delete c.servers[0].routes[0].sources),
    `${R}.sources`,
    "required, a non-empty list",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].overflow_sources = {}),
    `${R}.overflow_sources`,
    "expected a list, got an object",
  );
  rejects(edit((c) => c.servers[0].routes = [3]), `${R}`, "expected an object, got number 3");
  for (const code of [99, 600, 503.5]) {
    rejects(
      edit((c) => c.servers[0].routes[0].empty_endpoint_status_code = code),
      `${R}.empty_endpoint_status_code`,
      `expected an integer 100-599, got ${code === 503.5 ? "number 503.5" : code}`,
    );
  }
  for (const pct of [-1, 101]) {
    rejects(
      edit((c) => c.servers[0].routes[0].overflow_threshold_pct = pct),
      `${R}.overflow_threshold_pct`,
      `expected a number 0-100, got ${pct}`,
    );
  }
  strictEqual(
    parseConfig(edit((c) => c.servers[0].routes[0].overflow_threshold_pct = 0)).servers[0].routes[0]
      .overflowThresholdPct,
    0,
  );
});

Deno.test("config: source arguments are validated per kind", () => {
  rejects(
    withSource({ source_class: "static", host: "h", port: 1 }),
    `${S0}.name`,
    "required, a string",
  );
  rejects(
    withSource({ source_class: "static", name: "a", port: 1 }),
    `${S0}.host`,
    "required, a string",
  );
  rejects(
    withSource({ source_class: "static", name: "a", host: "h" }),
    `${S0}.port`,
    "required, an integer 1-65535",
  );
  rejects(
    withSource({ source_class: "static", name: "a", host: "h", port: 65536 }),
    `${S0}.port`,
    "expected an integer 1-65535, got 65536",
  );
  rejects(
    withSource({ source_class: "static", name: "a", host: "1.2.3.4; }", port: 1 }),
    `${S0}.host`,
    'expected a hostname or IP address, got "1.2.3.4; }"',
  );
  strictEqual(
    src0(parseConfig(withSource({ source_class: "static", name: "a", host: "::1", port: 1 }))).kind,
    "static",
  );

  for (const key of ["role", "environment", "job", "zk_servers"]) {
    const s = aurora();
    delete s[key as keyof typeof s];
    rejectsOnly(withSource(s), `${S0}.${key}`, "required, a string");
  }
  rejects(
    withSource(aurora({ job: "web/../x" })),
    `${S0}.job`,
    'expected an Aurora name (letters, digits, "_", "-", "."), got "web/../x"',
  );
  rejects(
    withSource(aurora({ announcer_serverset_path: "/a b" })),
    `${S0}.announcer_serverset_path`,
    'expected a ZooKeeper path like "/aurora", got "/a b"',
  );
  rejects(
    withSource(aurora({ zk_member_prefix: "a/b" })),
    `${S0}.zk_member_prefix`,
    'expected a name without spaces, "/" or control characters, got "a/b"',
  );
  const a = src0(
    parseConfig(
      withSource(
        aurora({ announcer_serverset_path: "sd/x", endpoint: "http", zk_member_prefix: "m_" }),
      ),
    ),
  );
  strictEqual(
    a.kind === "aurora" && `${a.announcerServersetPath} ${a.endpoint} ${a.zkMemberPrefix}`,
    "sd/x http m_",
  );

  rejects(
    withSource({ source_class: "serverset", zk_servers: "zk:2181" }),
    `${S0}.path`,
    "required, a string",
  );
  rejects(
    withSource({ source_class: "serverset", path: "/", zk_servers: "zk:2181" }),
    `${S0}.path`,
    'expected a ZooKeeper path like "/aurora", got "/"',
  );
  rejects(
    withSource({ source_class: "mesos_master", zk_servers: "zk:2181" }),
    `${S0}.mesos_master_path`,
    "required, a string",
  );
  rejects(
    withSource({ source_class: "static", name: "a", host: "h", port: 1, share_adjusters: {} }),
    `${S0}.share_adjusters`,
    "expected a list, got an object",
  );
});

Deno.test("config: zk_servers is host:port,host:port with every host and port valid", () => {
  const bad = (zk: string, entry: string, extra = "") =>
    rejectsOnly(
      withSource(aurora({ zk_servers: zk })),
      `${S0}.zk_servers`,
      `expected "host:port,host:port", bad entry ${JSON.stringify(entry)}${extra}`,
    );
  bad("zk1:2181,zk2", "zk2");
  bad("zk1:2181,", "");
  bad("zk1:0", "zk1:0");
  bad("zk1:99999", "zk1:99999");
  bad("zk 1:2181", "zk 1:2181");
  bad("zk1:2181;x:1", "zk1:2181;x:1");
  bad(
    "zk1:2181/chroot",
    "zk1:2181/chroot",
    " (a chroot suffix is not supported: put it in the source's path)",
  );
  const s = src0(
    parseConfig(withSource(aurora({ zk_servers: "10.0.0.1:2181, zk-2.example.com:2182" }))),
  );
  strictEqual(s.kind === "aurora" && s.zkServers, "10.0.0.1:2181, zk-2.example.com:2182");
});

Deno.test("config: share adjuster arguments", () => {
  // Every key of a health check has the original's default, `route` "/health" included.
  const bare = adj0(parseConfig(withAdjuster({ share_adjuster_class: "http_health" })));
  strictEqual(bare.kind === "http_health" && bare.route, "/health");
  rejects(
    withAdjuster(health({ route: "health" })),
    `${A0}.route`,
    'expected an HTTP path like "/health", got "health"',
  );
  rejects(
    withAdjuster(health({ route: "/a b" })),
    `${A0}.route`,
    'expected an HTTP path like "/health", got "/a b"',
  );
  rejects(
    withAdjuster(health({ route: "/h\r\nX: y" })),
    `${A0}.route`,
    'expected an HTTP path like "/health", got "/h\\r\\nX: y"',
  );
  rejects(
    withAdjuster(health({ interval: 1, timeout: 2 })),
    `${A0}.timeout`,
    "must not exceed interval (1), got 2",
  );
  strictEqual(
    adj0(parseConfig(withAdjuster(health({ interval: 2, timeout: 2 })))).kind,
    "http_health",
  );
  rejects(withAdjuster(health({ interval: 0 })), `${A0}.interval`, "expected a number > 0, got 0");
  rejects(withAdjuster(health({ timeout: -1 })), `${A0}.timeout`, "expected a number > 0, got -1");
  rejects(
    withAdjuster(health({ unhealthy_threshold: 0 })),
    `${A0}.unhealthy_threshold`,
    "expected an integer >= 1, got 0",
  );
  rejects(
    withAdjuster(health({ healthy_threshold: 1.5 })),
    `${A0}.healthy_threshold`,
    "expected an integer >= 1, got number 1.5",
  );
  rejects(
    withAdjuster(health({ http_method: "POST" })),
    `${A0}.http_method`,
    'expected GET or HEAD, got "POST"',
  );
  rejects(
    withAdjuster(health({ http_method: ["GET"] })),
    `${A0}.http_method`,
    "expected GET or HEAD, got a list",
  );
  const h = adj0(parseConfig(withAdjuster(health({ http_method: "head", port_name: "health" }))));
  strictEqual(h.kind === "http_health" && `${h.httpMethod} ${h.portName}`, "HEAD health");

  for (const key of ["ramp_delay", "ramp_seconds"]) {
    const r = ramp();
    delete r[key as keyof typeof r];
    rejectsOnly(withAdjuster(r), `${A0}.${key}`, "required, a number >= 0");
  }
  // update_frequency defaults to 10 s, as the original's RampingShareAdjuster.
  const r10 = adj0(parseConfig(withAdjuster(ramp({ update_frequency: undefined }))));
  strictEqual(r10.kind === "ramp" && r10.updateFrequency, 10);
  rejects(
    withAdjuster(ramp({ update_frequency: 0 })),
    `${A0}.update_frequency`,
    "expected a number > 0, got 0",
  );
  rejects(
    withAdjuster(ramp({ ramp_delay: -1 })),
    `${A0}.ramp_delay`,
    "expected a number >= 0, got -1",
  );
  rejects(
    withAdjuster(ramp({ curve: "cubic" })),
    `${A0}.curve`,
    'expected "linear" or "quadratic", got "cubic"',
  );
  rejects(withAdjuster(ramp({ min_share: 2 })), `${A0}.min_share`, "expected a number 0-1, got 2");
  const q = adj0(parseConfig(withAdjuster(ramp({ curve: "quadratic", min_share: 0.25 }))));
  strictEqual(q.kind === "ramp" && `${q.curve} ${q.minShare}`, "quadratic 0.25");

  rejectsOnly(
    withAdjuster({ share_adjuster_class: "delay_start" }),
    `${A0}.seconds`,
    "required, a number >= 0",
  );
  rejects(
    withAdjuster({ share_adjuster_class: "delay_start", seconds: -1 }),
    `${A0}.seconds`,
    "expected a number >= 0, got -1",
  );
  rejects(
    edit((c) => c.servers[0].routes[0].sources[0].share_adjusters = ["ramp"]),
    A0,
    'expected an object, got "ramp"',
  );
});

Deno.test("config: a server has routes or streams, exactly one kind", () => {
  const stream = {
    sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9000 }],
  };
  rejectsOnly(
    edit((c) => c.servers[0].streams = [stream]),
    "servers[0]",
    "has both routes and streams; a server is either HTTP (routes) or TCP (streams)",
  );
  rejectsOnly(
    edit((c) => delete c.servers[0].routes),
    "servers[0]",
    "needs routes (HTTP) or streams (TCP), a non-empty list",
  );
  rejectsOnly(
    edit((c) => {
      c.servers[0].routes = [];
      c.servers[0].streams = [];
    }),
    "servers[0]",
    "needs routes (HTTP) or streams (TCP), a non-empty list",
  );
  // An empty list of the other kind is not "both".
  const tcp = parseConfig(edit((c) => {
    c.servers[0].routes = [];
    c.servers[0].streams = [stream];
    delete c.servers[0].hosts;
  }));
  deepStrictEqual(tcp.servers[0].routes, []);
  strictEqual(tcp.servers[0].streams[0].slug, "s_any_8080_t0");
  strictEqual(tcp.servers[0].streams[0].path, "servers[0].streams[0]");
  rejects(
    edit((c) => {
      delete c.servers[0].routes;
      c.servers[0].streams = [{ ...stream, locations: ["/"] }];
    }),
    "servers[0].streams[0].locations",
    "unknown key: only routes (HTTP) have locations",
  );
  rejects(
    edit((c) => {
      delete c.servers[0].routes;
      c.servers[0].streams = [stream];
      c.servers[0].healthcheck_route = "/health";
    }),
    "servers[0].healthcheck_route",
    "only HTTP servers (routes) can answer a health check",
  );
});

Deno.test("config: unknown keys outside context are errors with a did-you-mean", () => {
  deepStrictEqual(
    errorsOf(edit((c) => {
      c.servers[0].routes[0].location = c.servers[0].routes[0].locations;
      delete c.servers[0].routes[0].locations;
    })),
    [
      'servers[0].routes[0].location: unknown key (did you mean "locations"?)',
      "servers[0].routes[0].locations: required, a non-empty list of strings",
    ],
  );
  rejects(
    edit((c) => c.servers[0].routes[0].location = ["/"]),
    "servers[0].routes[0].location",
    'unknown key (did you mean "locations"?)',
  );
  rejects(
    edit((c) => c.servers[0].hostz = []),
    "servers[0].hostz",
    'unknown key (did you mean "hosts"?)',
  );
  rejects(edit((c) => c.server = []), "server", 'unknown key (did you mean "servers"?)');
  rejects(
    edit((c) => c.nginx_pid = "/x"),
    "nginx_pid",
    'unknown key (did you mean "nginx_pid_path"?)',
  );
  rejects(edit((c) => c.zzz = 1), "zzz", "unknown key");
  rejects(
    withSource(aurora({ zk_server: "x:1" })),
    `${S0}.zk_server`,
    'unknown key (did you mean "zk_servers"?)',
  );
  rejects(withSource(aurora({ port: 1 })), `${S0}.port`, "unknown key");
  rejects(
    withAdjuster(health({ intervall: 3 })),
    `${A0}.intervall`,
    'unknown key (did you mean "interval"?)',
  );
  const c = parseConfig(edit((c) => {
    c.context = { anything: { goes: [1, "x", null, true] } };
    c.servers[0].context = { my_key: "v" };
  }));
  deepStrictEqual(c.context, { anything: { goes: [1, "x", null, true] } });
  deepStrictEqual(c.servers[0].context, { my_key: "v" });
});

Deno.test("config: context strings that could break out of an nginx directive are refused", () => {
  const why = (v: string) =>
    `unsafe characters in ${JSON.stringify(v)}: context values are rendered into nginx.conf ` +
    `and may not contain ; { } quotes # $ \\ or control characters`;
  for (
    const v of [
      "4; user root",
      "a{",
      "}",
      'a"b',
      "a'b",
      "a\\b",
      "a#b",
      "$x",
      "a\nb",
      "a\rb",
      "a\tb",
      "a\x01b",
      "a\x7fb",
    ]
  ) {
    rejectsOnly(
      edit((c) => c.context = { worker_processes: v }),
      "context.worker_processes",
      why(v),
    );
    rejectsOnly(
      edit((c) => c.servers[0].context = { send_timeout: v }),
      "servers[0].context.send_timeout",
      why(v),
    );
  }
  rejectsOnly(
    edit((c) => c.context = { nested: { list: ["ok", { deep: "x;" }] } }),
    "context.nested.list[1].deep",
    why("x;"),
  );
  // Plain values nginx may still refuse are nginx -t's to catch.
  const c = parseConfig(edit((c) => {
    c.context = { worker_connections: "lots", access_log: "/var/log/a.log main", n: 5 };
  }));
  strictEqual(c.context.worker_connections, "lots");
});

Deno.test("config: location_blacklist, default_server and overflow_port have the shape the renderer needs", () => {
  const B = "servers[0].context.location_blacklist";
  rejectsOnly(
    edit((c) => c.servers[0].context = { location_blacklist: ["/x { }"] }),
    `${B}[0]`,
    'unsafe characters in "/x { }": context values are rendered into nginx.conf and may not contain ; { } quotes # $ \\ or control characters',
  );
  rejectsOnly(
    edit((c) => c.servers[0].context = { location_blacklist: ["admin"] }),
    `${B}[0]`,
    'expected an nginx prefix location like "/api" or "= /exact", got "admin"',
  );
  rejectsOnly(
    edit((c) => c.servers[0].context = { location_blacklist: "/x" }),
    B,
    'expected a list of strings, got "/x"',
  );
  rejectsOnly(
    edit((c) => c.servers[0].context = { location_blacklist: [1] }),
    `${B}[0]`,
    "expected a non-empty string, got number 1",
  );
  rejectsOnly(
    edit((c) => c.servers[0].context = { default_server: "yes" }),
    "servers[0].context.default_server",
    'expected true or false (or "True"/"False"), got "yes"',
  );
  for (const v of [true, false, "True", "False", "true", "false"]) {
    strictEqual(
      parseConfig(edit((c) => c.servers[0].context = { default_server: v })).servers[0].context
        .default_server,
      v,
    );
  }
  for (const [v, got] of [["80a", '"80a"'], [0, "number 0"], [70000, "number 70000"]]) {
    rejectsOnly(
      edit((c) => c.servers[0].context = { overflow_port: v }),
      "servers[0].context.overflow_port",
      `expected a port 1-65535, got ${got}`,
    );
  }
  strictEqual(
    parseConfig(edit((c) => c.servers[0].context = { overflow_port: "8081" })).servers[0].context
      .overflow_port,
    "8081",
  );
});

Deno.test("config: locations, healthcheck_route and hosts must be safe nginx syntax", () => {
  const L = "servers[0].routes[0].locations[0]";
  const locWhy = (v: string) =>
    `expected an nginx prefix location like "/api" or "= /exact", got ${JSON.stringify(v)}`;
  for (const v of ["api", "/a b", "/a;", "/a{", "~ \\.php$", "@named", "/a#", "/$x", "=\n/x"]) {
    rejectsOnly(edit((c) => c.servers[0].routes[0].locations = [v]), L, locWhy(v));
  }
  const ok = parseConfig(
    edit((c) => c.servers[0].routes[0].locations = ["/", "= /exact", "^~ /static/", "=/e2"]),
  );
  deepStrictEqual(ok.servers[0].routes[0].locations, ["/", "= /exact", "^~ /static/", "=/e2"]);

  const hcWhy = (v: string) =>
    `expected a path like "/healthcheck" (answered 200 by nginx), got ${JSON.stringify(v)}`;
  for (const v of ["health", "/h;", "= h", "=\n/h", "^~ /h", "/h h"]) {
    rejectsOnly(
      edit((c) => c.servers[0].healthcheck_route = v),
      "servers[0].healthcheck_route",
      hcWhy(v),
    );
  }
  const hostWhy = (v: string) =>
    `expected a server name like "example.com", "*.example.com" or "default", got ${
      JSON.stringify(v)
    }`;
  for (const v of ["a b", "x;y", "a{", "~^re$", "a..b"]) {
    rejectsOnly(edit((c) => c.servers[0].hosts = [v]), "servers[0].hosts[0]", hostWhy(v));
  }
  const hosts = ["default", "_", "example.com", "*.example.com", "www.example.*", "localhost"];
  deepStrictEqual(parseConfig(edit((c) => c.servers[0].hosts = hosts)).servers[0].hosts, hosts);
});

Deno.test("config: nginx's duplicate locations are caught with both places named", () => {
  const route2 = (c: Any, locations: string[]) =>
    c.servers[0].routes.push({ ...structuredClone(c.servers[0].routes[0]), locations });
  rejectsOnly(
    edit((c) => route2(c, ["/"])),
    "servers[0].routes[1].locations[0]",
    'duplicate location "/", also at servers[0].routes[0].locations[0]',
  );
  rejectsOnly(
    edit((c) => c.servers[0].routes[0].locations = ["/a", "^~ /a"]),
    "servers[0].routes[0].locations[1]",
    'duplicate location "/a", also at servers[0].routes[0].locations[0]',
  );
  rejectsOnly(
    edit((c) => c.servers[0].context = { location_blacklist: ["/"] }),
    "servers[0].routes[0].locations[0]",
    'duplicate location "/", also at servers[0].context.location_blacklist[0]',
  );
  // healthcheck_route is a prefix location, as the original's (issue 8, B5); "= /hc" is
  // the exact one.
  rejectsOnly(
    edit((c) => {
      c.servers[0].healthcheck_route = "= /hc";
      route2(c, ["=/hc"]);
    }),
    "servers[0].routes[1].locations[0]",
    'duplicate location "= /hc", also at servers[0].healthcheck_route',
  );
  rejectsOnly(
    edit((c) => {
      c.servers[0].healthcheck_route = "/hc";
      route2(c, ["/hc"]);
    }),
    "servers[0].routes[1].locations[0]",
    'duplicate location "/hc", also at servers[0].healthcheck_route',
  );
  strictEqual(
    parseConfig(edit((c) => {
      c.servers[0].healthcheck_route = "/hc";
      route2(c, ["=/hc"]);
    })).servers[0].healthcheckRoute,
    "/hc",
  );
  // Exact and prefix locations of the same path are different nginx locations.
  strictEqual(
    parseConfig(edit((c) => c.servers[0].routes[0].locations = ["/a", "= /a"])).servers.length,
    1,
  );
});

Deno.test("config: two servers share a port only as HTTP virtual hosts; errors name both", () => {
  const second = (f: (s: Any, c: Any) => void) =>
    edit((c) => {
      const s = structuredClone(c.servers[0]);
      f(s, c);
      c.servers.push(s);
    });
  rejectsOnly(
    second(() => {}),
    "servers[1].ports",
    "port 8080 is also used by servers[0]: both answer the same host names",
  );
  rejectsOnly(
    second((s, c) => {
      c.servers[0].hosts = [];
      s.hosts = ["default"];
    }),
    "servers[1].ports",
    "port 8080 is also used by servers[0]: both answer the same host names",
  );
  rejectsOnly(
    second((s, c) => {
      c.servers[0].hosts = ["A.example.com"];
      s.hosts = ["a.example.com"];
    }),
    "servers[1].ports",
    "port 8080 is also used by servers[0]: both answer the same host names",
  );
  rejectsOnly(
    second((s, c) => {
      c.servers[0].hosts = ["a.example.com"];
      c.servers[0].context = { default_server: true };
      s.hosts = ["b.example.com"];
      s.context = { default_server: "True" };
    }),
    "servers[1].ports",
    "port 8080 is also used by servers[0]: both are default_server",
  );
  rejectsOnly(
    second((s) => {
      s.hosts = ["b.example.com"];
      s.ports = [9999, 8080];
      s.streams = [{ sources: s.routes[0].sources }];
      delete s.routes;
    }),
    "servers[1].ports",
    "port 8080 is also used by servers[0]: a TCP (streams) server cannot share its port",
  );
  const vhosts = parseConfig(second((s, c) => {
    c.servers[0].hosts = ["a.example.com"];
    s.hosts = ["b.example.com"];
  }));
  strictEqual(vhosts.servers.length, 2);
});

Deno.test("config: slugs are nginx-safe, unique and the same on every parse", () => {
  const raw = edit((c) => {
    c.servers[0].routes.push({
      ...structuredClone(c.servers[0].routes[0]),
      locations: ["/api/v1"],
    });
    c.servers.push({ ...structuredClone(c.servers[0]), hosts: ["a.b"], ports: [80, 443] });
    c.servers.push({ ...structuredClone(c.servers[0]), hosts: ["a_b"], ports: [80, 443] });
    c.servers.push({
      ...structuredClone(c.servers[0]),
      hosts: Array.from({ length: 8 }, (_, i) => `host${i}.example.com`),
      ports: [81],
    });
  });
  const slugsOf = (c: ProxyConfig) =>
    c.servers.flatMap((s) => [s.slug, ...s.routes.map((r) => r.slug)]);
  const slugs = slugsOf(parseConfig(raw));
  deepStrictEqual(slugs.slice(0, 9), [
    "s_default_8080",
    "s_default_8080_r0_root",
    "s_default_8080_r1_api_v1",
    "s_a_b_80_443",
    "s_a_b_80_443_r0_root",
    "s_a_b_80_443_r1_api_v1",
    "s_a_b_80_443_2",
    "s_a_b_80_443_2_r0_root",
    "s_a_b_80_443_2_r1_api_v1",
  ]);
  const long = slugs[9];
  ok(/^s_host0_example_com_host1_example_com_host_[0-9a-f]{8}_81$/.test(long), long);
  strictEqual(new Set(slugs).size, slugs.length);
  for (const s of slugs) ok(/^[A-Za-z0-9_]+$/.test(s), s);
  deepStrictEqual(slugsOf(parseConfig(structuredClone(raw))), slugs);
});

Deno.test("config: every problem is reported in one pass", () => {
  const messages = errorsOf(edit((c) => {
    c.template_file = "x";
    c.servers[0].ports = [0];
    delete c.servers[0].routes[0].locations;
    c.servers[0].routes[0].sources[0].host = "bad host";
    c.servers[0].context = { x: "a;b" };
    c.servers.push({ ports: [81] });
  }));
  deepStrictEqual(messages.sort(), [
    'servers[0].context.x: unsafe characters in "a;b": context values are rendered into nginx.conf and may not contain ; { } quotes # $ \\ or control characters',
    "servers[0].ports[0]: expected an integer 1-65535, got 0",
    "servers[0].routes[0].locations: required, a non-empty list of strings",
    'servers[0].routes[0].sources[0].host: expected a hostname or IP address, got "bad host"',
    "servers[1]: needs routes (HTTP) or streams (TCP), a non-empty list",
    "template_file: not supported: the nginx template is built in",
  ]);
});

Deno.test("config: every file in examples/ is valid", async () => {
  const names: string[] = [];
  for await (const e of Deno.readDir(new URL("../../examples/", import.meta.url))) {
    if (!e.name.endsWith(".json")) continue;
    const text = await Deno.readTextFile(new URL(`../../examples/${e.name}`, import.meta.url));
    const c = parseConfig(JSON.parse(text));
    ok(c.servers.length > 0, e.name);
    names.push(e.name);
  }
  deepStrictEqual(
    names.sort().filter((n) =>
      ["aurora.json", "overflow.json", "static.json", "tcp_stream.json"].includes(n)
    ),
    ["aurora.json", "overflow.json", "static.json", "tcp_stream.json"],
  );
});

Deno.test("didYouMean: close spellings and truncated keys, nothing for unrelated words", () => {
  strictEqual(didYouMean("location", ["locations", "sources"]), "locations");
  strictEqual(didYouMean("Hosts", ["hosts", "ports"]), "hosts");
  strictEqual(didYouMean("nginx_pid", ["nginx_pid_path", "nginx_prefix"]), "nginx_pid_path");
  strictEqual(
    didYouMean("announcer_serverset_path_x", ["announcer_serverset_path"]),
    "announcer_serverset_path",
  );
  strictEqual(didYouMean("nginx", ["nginx_pid_path", "nginx_prefix", "nginx_binary"]), undefined);
  strictEqual(didYouMean("zzz", ["servers", "backend"]), undefined);
});
