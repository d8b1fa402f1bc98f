import { deepStrictEqual, ok, strictEqual, throws } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { nginxBackend } from "../../lib/backends/nginx/kind.ts";
import { createBackend, optionsFor } from "../../lib/backends/table.ts";
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
