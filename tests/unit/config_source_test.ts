import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { markUnsupported } from "../../lib/config/kind.ts";
import { parseJsonText } from "../../lib/config/load.ts";
import { UsageError } from "../../lib/errors.ts";
import { BUILTIN_KINDS, parseConfig, parseSourceConfig } from "../../lib/kinds.ts";
import { usageErrorMessages } from "../../testing/usage_errors.ts";

const S0 = "servers[0].routes[0].sources[0]";

/** A one-route `--config` whose only source is `source`. */
function inConfig(source: unknown) {
  return {
    backend: "nginx",
    servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
  };
}

const BAD_SOURCES: Record<string, unknown> = {
  "not an object": "aurora",
  "no class": { name: "x" },
  "unknown class": { source_class: "tellapart.aurproxy.source.AuroraProxySorce" },
  "ApiSource managing ApiSources": {
    source_class: "api",
    name: "replay",
    source_whitelist: ["api"],
  },
  "missing keys": { source_class: "aurora", role: "r" },
  "bad values": {
    source_class: "aurora",
    role: "r/x",
    environment: "e",
    job: "j",
    zk_servers: "zk1:2181/chroot",
    zk_member_prefix: "a b",
  },
  "unknown key": {
    source_class: "serverset",
    path: "/sd/web",
    zk_servers: "zk:2181",
    zk_server: "x",
  },
  "bad adjusters": {
    source_class: "static",
    name: "a",
    host: "127.0.0.1",
    port: 9000,
    share_adjusters: [
      { share_adjuster_class: "http_health", route: "health", intervall: 3 },
      { share_adjuster_class: "ramp", ramp_delay: -1 },
      "delay_start",
    ],
  },
};

Deno.test("parseSourceConfig: a valid source parses as it would inside --config", () => {
  const raw = {
    source_class: "tellapart.aurproxy.source.AuroraProxySource",
    role: "www-data",
    environment: "prod",
    job: "web",
    zk_servers: "zk1:2181,zk2:2181",
    share_adjusters: [{
      share_adjuster_class: "ramp",
      ramp_delay: 0,
      ramp_seconds: 60,
      update_frequency: 5,
    }],
  };
  const alone = parseSourceConfig(raw, { root: "--mirror-source" });
  const inside = parseConfig(inConfig(raw)).servers[0].routes[0].sources[0];
  deepStrictEqual(alone, {
    ...inside,
    path: "--mirror-source",
    shareAdjusters: inside.shareAdjusters.map((a) => ({
      ...a,
      path: "--mirror-source.share_adjusters[0]",
    })),
  });
  strictEqual(alone.kind === "aurora" && alone.announcerServersetPath, "/aurora/");
  strictEqual(
    parseSourceConfig({ source_class: "static", name: "a", host: "::1", port: "80" }).path,
    "source",
  );
});

Deno.test("parseSourceConfig: every error is the one --config gives, rooted where the source came from", () => {
  for (const [what, raw] of Object.entries(BAD_SOURCES)) {
    const inside = usageErrorMessages(() => parseConfig(inConfig(raw)));
    const alone = usageErrorMessages(() => parseSourceConfig(raw, { root: "--mirror-source" }));
    ok(alone.length > 0, what);
    deepStrictEqual(
      alone,
      inside.map((m) => m.replace(S0, "--mirror-source")),
      what,
    );
    // Without a root, paths start at "source".
    deepStrictEqual(
      usageErrorMessages(() => parseSourceConfig(raw)),
      inside.map((m) => m.replace(S0, "source")),
      what,
    );
  }
  deepStrictEqual(usageErrorMessages(() => parseSourceConfig(BAD_SOURCES["unknown key"])), [
    'source.zk_server: unknown key (did you mean "zk_servers"?)',
  ]);
  deepStrictEqual(usageErrorMessages(() => parseSourceConfig(BAD_SOURCES["bad adjusters"])), [
    'source.share_adjusters[0].intervall: unknown key (did you mean "interval"?)',
    'source.share_adjusters[0].route: expected an HTTP path like "/health", got "health"',
    "source.share_adjusters[1].ramp_delay: expected a number >= 0, got -1",
    "source.share_adjusters[1].ramp_seconds: required, a number >= 0",
    'source.share_adjusters[2]: expected an object, got "delay_start"',
  ]);
});

Deno.test("parseSourceConfig: a flag's JSON text, and the caller's own kinds", () => {
  const raw = parseJsonText(
    '{"source_class": "mesos_master", "mesos_master_path": "/mesos", "zk_servers": "zk:2181"}',
    "--mirror-source",
  );
  strictEqual(parseSourceConfig(raw, { root: "--mirror-source" }).kind, "mesos_master");
  deepStrictEqual(
    usageErrorMessages(() =>
      parseSourceConfig(raw, {
        root: "--mirror-source",
        kinds: markUnsupported(BUILTIN_KINDS, "mesos_master", "no Mesos here"),
      })
    ),
    ["--mirror-source.source_class: no Mesos here"],
  );
  throws(() => parseJsonText("{nope", "--mirror-source"), (e: unknown) => {
    ok(e instanceof UsageError);
    strictEqual(e.path, "--mirror-source");
    return true;
  });
});
