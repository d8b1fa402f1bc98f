/**
 * The config as the original read it (issue 8, B): its constructor defaults, the keys it
 * ignored (warnings, or errors under --strict), its member selection, its prefix
 * healthcheck_route, international host names; and the validator's refusals (A14).
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { markSupported } from "../../lib/config/kind.ts";
import { MAX_CONTEXT_DEPTH } from "../../lib/config/context.ts";
import type { UsageError } from "../../lib/errors.ts";
import { BUILTIN_KINDS, parseConfig } from "../../lib/kinds.ts";
import { ambiguousIpv4, isValidHost } from "../../lib/model/endpoint.ts";
import type { ProxyConfig } from "../../lib/model/config.ts";
import { HEALTH_CHECK_DEFAULTS } from "../../lib/share/health/kind.ts";
import { RAMP_DEFAULTS } from "../../lib/share/ramp_kind.ts";
import { API_SOURCE_WHITELIST } from "../../lib/sources/api/kind.ts";
import { parseServerSetMember } from "../../lib/sources/registry/member.ts";
import { MEMBER_PREFIX } from "../../lib/sources/registry/serverset_kind.ts";
import { memberQualifier } from "../../lib/sources/registry/source.ts";
import { configErrors } from "../../testing/usage_errors.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const S0 = "servers[0].routes[0].sources[0]";

function base(): Any {
  return {
    backend: "nginx",
    servers: [{
      hosts: ["default"],
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9000 }],
      }],
    }],
  };
}

const edit = (f: (c: Any) => void) => {
  const c = base();
  f(c);
  return c;
};

/** The config and the warnings of a lenient parse. */
function lenient(raw: unknown): { config: ProxyConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = parseConfig(raw, { onIgnoredKey: (w: UsageError) => warnings.push(w.message) });
  return { config, warnings };
}

const adjusterOf = (c: ProxyConfig) => c.servers[0].routes[0].sources[0].shareAdjusters[0];
const withAdjuster = (a: Record<string, unknown>) =>
  edit((c) => c.servers[0].routes[0].sources[0].share_adjusters = [a]);

Deno.test("compat config: every constructor default of the original's adjusters, declared once", () => {
  deepStrictEqual(HEALTH_CHECK_DEFAULTS, {
    route: "/health",
    interval: 5,
    timeout: 3,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    httpMethod: "GET",
  });
  deepStrictEqual(
    adjusterOf(parseConfig(withAdjuster({
      share_adjuster_class: "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster",
    }))),
    {
      kind: "http_health",
      path: `${S0}.share_adjusters[0]`,
      ...HEALTH_CHECK_DEFAULTS,
      portName: undefined,
    },
  );
  // The original had no "timeout <= interval" rule: its default timeout shrinks to a
  // shorter interval given without a timeout, rather than refusing the config.
  const short = adjusterOf(
    parseConfig(withAdjuster({ share_adjuster_class: "http_health", interval: 2 })),
  );
  strictEqual(short.kind === "http_health" && `${short.interval}/${short.timeout}`, "2/2");
  deepStrictEqual(RAMP_DEFAULTS, { curve: "linear", updateFrequency: 10, minShare: 0 });
  const ramp = adjusterOf(parseConfig(withAdjuster({
    share_adjuster_class: "tellapart.aurproxy.share.adjusters.RampingShareAdjuster",
    ramp_delay: 10,
    ramp_seconds: 60,
  })));
  deepStrictEqual(ramp, {
    kind: "ramp",
    path: `${S0}.share_adjusters[0]`,
    rampDelay: 10,
    rampSeconds: 60,
    updateFrequency: 10,
    curve: "linear",
    minShare: 0,
  });
  // No defaults in the original: still required.
  deepStrictEqual(configErrors(withAdjuster({ share_adjuster_class: "ramp" })), [
    `${S0}.share_adjusters[0].ramp_delay: required, a number >= 0`,
    `${S0}.share_adjusters[0].ramp_seconds: required, a number >= 0`,
  ]);
  deepStrictEqual(configErrors(withAdjuster({ share_adjuster_class: "delay_start" })), [
    `${S0}.share_adjusters[0].seconds: required, a number >= 0`,
  ]);
  // ApiSource's default whitelist, as the original's _DEFAULT_SOURCE_WHITELIST.
  const api = parseConfig(
    edit((c) => c.servers[0].routes[0].sources = [{ source_class: "api", name: "replay" }]),
    { kinds: markSupported(BUILTIN_KINDS, "api") },
  ).servers[0].routes[0].sources[0];
  deepStrictEqual(api.kind === "api" && api.sourceWhitelist, API_SOURCE_WHITELIST);
  deepStrictEqual(API_SOURCE_WHITELIST, [
    "tellapart.aurproxy.source.StaticProxySource",
    "tellapart.aurproxy.source.AuroraProxySource",
  ]);
});

Deno.test("compat config: keys the original ignored are warnings in document order; without a handler, errors", () => {
  const raw = edit((c) => {
    c.template_dir = "/x";
    c.servers[0].hostz = ["x"];
    c.servers[0].routes[0].name = "web";
    c.servers[0].routes[0].template_file = "/t";
    c.servers.push({
      ports: [9090],
      healthcheck_route: "/hc",
      streams: [{
        locations: ["/"],
        empty_endpoint_status_code: 503,
        weight: 1,
        sources: [{ source_class: "static", name: "t", host: "127.0.0.1", port: 9001 }],
      }],
    });
  });
  const { config, warnings } = lenient(raw);
  deepStrictEqual(warnings, [
    "template_dir: unknown key; ignored, as the original did",
    'servers[0].hostz: unknown key (did you mean "hosts"?); ignored, as the original did',
    "servers[0].routes[0].name: unknown key; ignored, as the original did",
    "servers[0].routes[0].template_file: unknown key; ignored, as the original did",
    "servers[1].healthcheck_route: only HTTP servers (routes) can answer a health check; " +
    "ignored, as the original did",
    "servers[1].streams[0].locations: unknown key: only routes (HTTP) have locations; " +
    "ignored, as the original did",
    "servers[1].streams[0].empty_endpoint_status_code: unknown key: only routes (HTTP) " +
    "answer a status code; ignored, as the original did",
    "servers[1].streams[0].weight: unknown key; ignored, as the original did",
  ]);
  strictEqual(config.servers[1].healthcheckRoute, undefined);
  strictEqual(config.servers[0].routes[0].locations[0], "/");
  // Strict (no handler): the same keys, as errors.
  deepStrictEqual(
    configErrors(raw),
    warnings.map((w) => w.replace("; ignored, as the original did", "")),
  );
});

Deno.test("compat config: where the original failed on a key, it fails; StaticProxySource ignored them", () => {
  const aurora = {
    source_class: "aurora",
    role: "r",
    environment: "e",
    job: "j",
    zk_servers: "127.0.0.1:2181",
  };
  // AuroraProxySource, ServerSetSource and every adjuster took fixed keywords: an unknown
  // one was a TypeError in the original.
  const src = edit((c) => c.servers[0].routes[0].sources = [{ ...aurora, weight: 2 }]);
  deepStrictEqual(configErrors(src, { onIgnoredKey: () => {} }), [`${S0}.weight: unknown key`]);
  const adj = withAdjuster({ share_adjuster_class: "http_health", intervall: 3 });
  deepStrictEqual(configErrors(adj, { onIgnoredKey: () => {} }), [
    `${S0}.share_adjusters[0].intervall: unknown key (did you mean "interval"?)`,
  ]);
  // StaticProxySource took **kwargs and read three of them.
  const stat = edit((c) => c.servers[0].routes[0].sources[0].initial_endpoints = []);
  deepStrictEqual(lenient(stat).warnings, [
    `${S0}.initial_endpoints: unknown key; ignored, as the original did`,
  ]);
  deepStrictEqual(configErrors(stat), [`${S0}.initial_endpoints: unknown key`]);
  // The top-level template_file: the original rendered with it; this build cannot.
  deepStrictEqual(configErrors(edit((c) => c.template_file = "/t"), { onIgnoredKey: () => {} }), [
    "template_file: not supported: the nginx template is built in",
  ]);
});

Deno.test("compat config: a config without backend takes the default one given", () => {
  const raw = edit((c) => delete c.backend);
  deepStrictEqual(configErrors(raw), ['backend: required, one of "nginx", "haproxy"']);
  strictEqual(
    parseConfig(raw, { defaultBackend: { name: "nginx", path: "--backend" } }).backend,
    "nginx",
  );
  deepStrictEqual(configErrors(raw, { defaultBackend: { name: "nope", path: "--backend" } }), [
    '--backend: expected one of "nginx", "haproxy", got "nope"',
  ]);
});

Deno.test("compat config: zk_member_prefix unset takes every child; source names keep their form", () => {
  const sources = parseConfig(edit((c) =>
    c.servers[0].routes[0].sources = [
      { source_class: "aurora", role: "r", environment: "e", job: "j", zk_servers: "zk:2181" },
      { source_class: "serverset", path: "/sd/web", zk_servers: "zk:2181" },
      { source_class: "serverset", path: "/sd/web", zk_servers: "zk:2181", zk_member_prefix: "n_" },
    ]
  )).servers[0].routes[0].sources;
  deepStrictEqual(
    sources.map((s) => s.kind !== "static" && "zkMemberPrefix" in s && s.zkMemberPrefix),
    [undefined, undefined, "n_"],
  );
  strictEqual(MEMBER_PREFIX, "member_");
  strictEqual(memberQualifier(undefined), "");
  strictEqual(memberQualifier(MEMBER_PREFIX, "http"), "#http");
  strictEqual(memberQualifier("node_", "http"), "/node_*#http");
});

Deno.test('compat config: healthcheck_route is a prefix; "= /path" asks for an exact match', () => {
  for (const hc of ["/healthcheck", "= /healthcheck", "=/healthcheck"]) {
    strictEqual(
      parseConfig(edit((c) => c.servers[0].healthcheck_route = hc)).servers[0].healthcheckRoute,
      hc,
    );
  }
});

Deno.test("compat config: international host names become IDNA names; clashes compare those", () => {
  const c = parseConfig(
    edit((c) => c.servers[0].hosts = ["test核.example.com", "*.Bücher.de", "Plain.example.com"]),
  );
  deepStrictEqual(c.servers[0].hosts, [
    "xn--test-jn2i.example.com",
    "*.xn--bcher-kva.de",
    "Plain.example.com",
  ]);
  strictEqual(c.servers[0].slug, "s_xn_test_jn2i_example_com_xn_bcher_kva_de_af883e55_8080");
  const twice = edit((c) => {
    c.servers[0].hosts = ["test核.example.com"];
    c.servers.push({ ...structuredClone(c.servers[0]), hosts: ["xn--test-jn2i.example.com"] });
  });
  deepStrictEqual(configErrors(twice), [
    "servers[1].ports: port 8080 is also used by servers[0]: both answer the same host names",
  ]);
  deepStrictEqual(configErrors(edit((c) => c.servers[0].hosts = ["a b.例え"])), [
    'servers[0].hosts[0]: expected a server name like "example.com", "*.example.com" or "default", got "a b.例え"',
  ]);
});

Deno.test("compat config: context nested too deep is an error at the depth limit, not a stack overflow", () => {
  let deep: unknown = "x";
  for (let i = 0; i < 100_000; i++) deep = [deep];
  deepStrictEqual(configErrors(edit((c) => c.context = { deep })), [
    `context.deep${
      "[0]".repeat(MAX_CONTEXT_DEPTH - 1)
    }: nested more than ${MAX_CONTEXT_DEPTH} levels deep: context values are flat`,
  ]);
  let ok: unknown = "x";
  for (let i = 0; i < MAX_CONTEXT_DEPTH - 1; i++) ok = { a: ok };
  strictEqual(parseConfig(edit((c) => c.context = { ok })).context.ok, ok);
});

Deno.test("compat config: ambiguous IPv4 spellings are no hosts, in the config or the registry", () => {
  for (
    const h of [
      "2130706433",
      "127.1",
      "0x7f.1",
      "010.0.0.1",
      "1.2.3.4.5",
      "a.1",
      "0x7f.0.0.1.",
      "10.0.0.1.",
    ]
  ) {
    strictEqual(isValidHost(h), false, h);
    strictEqual(typeof ambiguousIpv4(h), "string", h);
  }
  for (
    const h of [
      "127.0.0.1",
      "web-1.example.com",
      "1a.example.com",
      "0x.example.com",
      "::1",
      "localhost",
    ]
  ) {
    strictEqual(isValidHost(h), true, h);
    strictEqual(ambiguousIpv4(h), undefined, h);
  }
  const data = JSON.stringify({ serviceEndpoint: { host: "127.1", port: 80 }, status: "ALIVE" });
  const m = parseServerSetMember(data, { origin: "/sd/web/member_1" });
  strictEqual(m.kind, "invalid");
  strictEqual(
    m.kind === "invalid" && m.reason.includes("ambiguous IPv4 spelling (read as 127.0.0.1)"),
    true,
  );
});
