import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { UsageError, UsageErrors } from "../../lib/errors.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { parseRegistrationSource, readSourceHostsOnce } from "../../lib/register/job_source.ts";
import { errorText, RegistrationError } from "../../lib/register/registerer.ts";

Deno.test("registration source: parsed like a --config source, errors named from --registration-source", () => {
  const s = parseRegistrationSource(
    '{"source_class": "tellapart.aurproxy.source.AuroraProxySource", "zk_servers": "zk:2181", ' +
      '"role": "proxy", "environment": "prod", "job": "web"}',
  );
  strictEqual(s.kind, "aurora");
  throws(
    () =>
      parseRegistrationSource('{"source_class": "static", "name": "x", "hots": "h", "port": 0}'),
    (e: unknown) => {
      strictEqual(e instanceof UsageErrors, true);
      deepStrictEqual((e as UsageErrors).errors.map((x) => x.message), [
        '--registration-source.hots: unknown key (did you mean "host"?)',
        "--registration-source.host: required, a string",
        "--registration-source.port: expected an integer 1-65535, got 0",
      ]);
      return true;
    },
  );
  throws(
    () => parseRegistrationSource("[1]"),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === "--registration-source: expected a JSON object with source_class",
  );
  throws(
    () => parseRegistrationSource("{nope"),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message.startsWith("--registration-source: invalid JSON at line 1"),
  );
});

Deno.test("registration source: a static source's host, read once", async () => {
  const hosts = await readSourceHostsOnce(
    parseRegistrationSource('{"source_class": "static", "name": "x", "host": "h1", "port": 80}'),
    {
      clock: systemClock,
      logger: memoryLogger(),
      metrics: new MetricsRegistry(),
      zkSessionTimeoutMs: 1000,
    },
  );
  deepStrictEqual(hosts, ["h1"]);
});

Deno.test("errorText: AWS code and message; the HTTP status when AWS gave no code", () => {
  const sdk = Object.assign(new Error("Rate exceeded"), {
    name: "Throttling",
    $metadata: { httpStatusCode: 400 },
  });
  strictEqual(errorText(sdk), "Throttling: Rate exceeded");
  const bare = Object.assign(new Error("Unknown"), {
    name: "Unknown",
    $metadata: { httpStatusCode: 500 },
  });
  strictEqual(errorText(bare), "HTTP 500");
  strictEqual(
    errorText(new RegistrationError("register with elb web: x")),
    "register with elb web: x",
  );
  strictEqual(errorText(new Error("plain")), "plain");
  strictEqual(errorText("text"), "text");
});
