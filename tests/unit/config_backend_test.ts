import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { nginxBackend } from "../../lib/backends/nginx/kind.ts";
import {
  type BackendEntry,
  configurationFileOf,
  createBackend,
  entryOf,
  optionsFor,
} from "../../lib/backends/table.ts";
import { defaultStateFile } from "../../lib/cli/run_options.ts";
import type { ConfigBackend } from "../../lib/config/kind.ts";
import { parseConfig as parseWith } from "../../lib/config/parse.ts";
import { UsageErrors } from "../../lib/errors.ts";
import { BUILTIN_KINDS, parseConfig } from "../../lib/kinds.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { configErrors } from "../../testing/usage_errors.ts";

/** A second backend, parse side only: one key of its own, cross-checked with the servers. */
const fake: ConfigBackend = {
  name: "fake",
  parseOptions: (f, servers) => {
    const socket = f.stringOr("fake_socket", "/run/fake.sock");
    const port = f.number("fake_admin_port", { min: 1, max: 65535, integer: true });
    if (servers.some((s) => port !== undefined && s.ports.includes(port))) {
      f.fail("fake_admin_port", `port ${port} is taken`);
    }
    return { socket, port };
  },
};
const TWO = { ...BUILTIN_KINDS, backends: [...BUILTIN_KINDS.backends, fake] };

function config(top: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    servers: [{
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9000 }],
      }],
    }],
    ...top,
  };
}

Deno.test('config backend: "backend" picks an entry of the table; errors list the table', () => {
  deepStrictEqual(configErrors(config()), ['backend: required, one of "nginx", "haproxy"']);
  deepStrictEqual(configErrors(config(), { kinds: TWO }), [
    'backend: required, one of "nginx", "haproxy", "fake"',
  ]);
  deepStrictEqual(configErrors(config({ backend: "nope" }), { kinds: TWO }), [
    'backend: expected one of "nginx", "haproxy", "fake", got "nope"',
  ]);
  const c = parseConfig(config({ backend: "fake", fake_admin_port: "9999" }), { kinds: TWO });
  strictEqual(c.backend, "fake");
  deepStrictEqual(c.backendOptions, { socket: "/run/fake.sock", port: 9999 });
  deepStrictEqual(
    configErrors(config({ backend: "fake", fake_admin_port: 8080 }), { kinds: TWO }),
    [
      "fake_admin_port: port 8080 is taken",
    ],
  );
});

Deno.test("config backend: top-level keys are the generic ones plus the selected backend's", () => {
  // nginx's keys are not fake's, and the other way round.
  deepStrictEqual(
    configErrors(
      config({ backend: "fake", configuration_file: "/x.conf", fake_sockett: "/s" }),
      { kinds: TWO },
    ),
    [
      "configuration_file: unknown key",
      'fake_sockett: unknown key (did you mean "fake_socket"?)',
    ],
  );
  deepStrictEqual(configErrors(config({ backend: "nginx", fake_socket: "/s" }), { kinds: TWO }), [
    "fake_socket: unknown key",
  ]);
  // When the backend is not known, any backend's key may be right; others still are not.
  deepStrictEqual(
    configErrors(
      config({ backend: "hap", configuration_file: "/x.conf", fake_socket: "/s", zzz: 1 }),
      { kinds: TWO },
    ),
    ["zzz: unknown key", 'backend: expected one of "nginx", "haproxy", "fake", got "hap"'],
  );
  // Their values are not judged then: only the unknown backend is reported.
  deepStrictEqual(configErrors(config({ backend: "hap", stats_port: 0 }), { kinds: TWO }), [
    'backend: expected one of "nginx", "haproxy", "fake", got "hap"',
  ]);
});

Deno.test("config backend: a default backend (a --backend flag) applies when the config has none", () => {
  const defaultBackend = { name: "fake", path: "--backend" };
  const kinds = TWO;
  strictEqual(parseWith(config(), { kinds, defaultBackend }).backend, "fake");
  strictEqual(parseWith(config({ backend: "nginx" }), { kinds, defaultBackend }).backend, "nginx");
  throws(
    () => parseWith(config(), { kinds, defaultBackend: { name: "x", path: "--backend" } }),
    (e: unknown) => {
      ok(e instanceof UsageErrors);
      deepStrictEqual(e.errors.map((x) => x.message), [
        '--backend: expected one of "nginx", "haproxy", "fake", got "x"',
      ]);
      return true;
    },
  );
});

Deno.test("config backend: the nginx entry creates the nginx backend from the options it parsed", () => {
  const c = parseConfig(config({ backend: "nginx", configuration_file: "/tmp/a/nginx.conf" }));
  const options = optionsFor(nginxBackend, c);
  strictEqual(options.configurationFile, "/tmp/a/nginx.conf");
  strictEqual(options.pidPath, "/var/run/nginx.pid");
  const backend = createBackend(BUILTIN_KINDS.backends, c, {
    logger: memoryLogger(),
    metrics: new MetricsRegistry("t"),
  });
  ok(backend instanceof NginxBackend);
  strictEqual(backend.name, "nginx");
  deepStrictEqual(backend.options, options);
  const other = { ...c, backend: "fake", backendOptions: {} };
  throws(() => optionsFor(nginxBackend, other), RangeError);
  throws(() =>
    createBackend(BUILTIN_KINDS.backends, other, {
      logger: memoryLogger(),
      metrics: new MetricsRegistry("t"),
    }), RangeError);
});

Deno.test("config backend: an entry names its config file (the default state file goes beside it) and its own check; a backend that names neither has none", () => {
  const nginx = parseConfig(config({ backend: "nginx", configuration_file: "/srv/n/nginx.conf" }));
  const haproxy = parseConfig(
    config({ backend: "haproxy", configuration_file: "/srv/h/haproxy.cfg" }),
  );
  strictEqual(configurationFileOf(BUILTIN_KINDS.backends, nginx), "/srv/n/nginx.conf");
  strictEqual(configurationFileOf(BUILTIN_KINDS.backends, haproxy), "/srv/h/haproxy.cfg");
  strictEqual(defaultStateFile(haproxy), "/srv/h/aurproxy-state.json");
  strictEqual(entryOf(BUILTIN_KINDS.backends, nginx).checkCommand, "nginx -t");
  strictEqual(entryOf(BUILTIN_KINDS.backends, haproxy).checkCommand, "haproxy -c");
  const bare: BackendEntry = {
    name: "bare",
    parseOptions: () => ({}),
    create: () => {
      throw new Error("not made in this test");
    },
  };
  const third = { ...nginx, backend: "bare", backendOptions: {} };
  strictEqual(configurationFileOf([bare], third), undefined);
  strictEqual(entryOf([bare], third).checkCommand, undefined);
  throws(() => configurationFileOf([bare], nginx), /no backend "nginx"/);
});

Deno.test("config backend: a backend's own statistics are ProxyBackend.stats: nginx's with stats_port only, made once; HAProxy's always", async () => {
  const deps = () => ({ logger: memoryLogger(), metrics: new MetricsRegistry("aurproxy") });
  const plain = createBackend(
    BUILTIN_KINDS.backends,
    parseConfig(config({ backend: "nginx" })),
    deps(),
  );
  strictEqual(plain.stats, undefined);
  const d = deps();
  const port = 1; // nothing answers there
  const withPort = createBackend(
    BUILTIN_KINDS.backends,
    parseConfig(config({ backend: "nginx", stats_port: port })),
    d,
  );
  ok(withPort.stats);
  strictEqual(withPort.stats, withPort.stats, "made once");
  strictEqual(await withPort.stats.poll(), false, "a failed poll resolves false");
  strictEqual(d.metrics.get("nginx_stats_up"), 0);
  strictEqual(d.metrics.get("nginx_stats_poll_failures_total"), 1);
  const haproxy = createBackend(
    BUILTIN_KINDS.backends,
    parseConfig(config({ backend: "haproxy", haproxy_stats_socket: "/nonexistent.sock" })),
    deps(),
  );
  ok(haproxy.stats);
  strictEqual(await haproxy.stats.poll(), false);
});
