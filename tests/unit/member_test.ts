import { deepStrictEqual, strictEqual } from "node:assert";
import { parseMesosMaster, parseServerSetMember } from "../../lib/sources/registry/member.ts";
import { normalizeZkPath } from "../../lib/sources/registry/source.ts";
import { auroraJobPath } from "../../lib/sources/registry/aurora.ts";

const origin = "/aurora/r/e/j/member_0000000001";

Deno.test("member: Aurora's announcer JSON becomes an endpoint with its named ports", () => {
  const r = parseServerSetMember(
    JSON.stringify({
      serviceEndpoint: { host: "10.0.0.5", port: 31000 },
      additionalEndpoints: {
        http: { host: "10.0.0.5", port: 31001 },
        health: { host: "10.0.0.5", port: 31002 },
      },
      status: "ALIVE",
      shard: 3,
    }),
    { endpoint: "http", origin },
  );
  deepStrictEqual(r, {
    kind: "ok",
    endpoint: {
      host: "10.0.0.5",
      port: 31001,
      ports: { default: 31000, http: 31001, health: 31002 },
      origin,
    },
  });
});

Deno.test("member: malformed or unsafe data is invalid, with a reason naming the field", () => {
  const cases: [string, string][] = [
    ["{", "data is not a JSON object"],
    ["[1]", "data is not a JSON object"],
    ['{"status":"ALIVE"}', "serviceEndpoint: missing or not an object"],
    [
      '{"serviceEndpoint":{"host":"h","port":0},"status":"ALIVE"}',
      "serviceEndpoint.port: expected an integer 1-65535, got 0",
    ],
    [
      '{"serviceEndpoint":{"host":"h","port":"80"},"status":"ALIVE"}',
      'serviceEndpoint.port: expected an integer 1-65535, got "80"',
    ],
    [
      '{"serviceEndpoint":{"host":"1.2.3.4; } server { listen 81","port":80},"status":"ALIVE"}',
      'serviceEndpoint.host: not a hostname or IP literal: "1.2.3.4; } server { listen 81"',
    ],
    [
      '{"serviceEndpoint":{"host":"h","port":1},"additionalEndpoints":[],"status":"ALIVE"}',
      "additionalEndpoints: not an object",
    ],
    // Aurora's announcer always writes a status; its readers refuse a member without one.
    ['{"serviceEndpoint":{"host":"h","port":1},"additionalEndpoints":{}}', "status: missing"],
  ];
  for (const [data, reason] of cases) {
    deepStrictEqual(parseServerSetMember(data, { origin }), { kind: "invalid", reason }, data);
  }
  deepStrictEqual(
    parseServerSetMember('{"serviceEndpoint":{"host":"h","port":1},"status":"ALIVE"}', {
      endpoint: "http",
      origin,
    }),
    { kind: "invalid", reason: 'no additional endpoint named "http"' },
  );
});

Deno.test("member: a named endpoint is looked up among the member's own endpoints only", () => {
  const data = JSON.stringify({
    serviceEndpoint: { host: "h", port: 1 },
    additionalEndpoints: { http: { host: "h", port: 2 } },
    status: "ALIVE",
  });
  for (const endpoint of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
    deepStrictEqual(
      parseServerSetMember(data, { endpoint, origin }),
      { kind: "invalid", reason: `no additional endpoint named ${JSON.stringify(endpoint)}` },
      endpoint,
    );
  }
});

Deno.test("member: a member that is not ALIVE is excluded, not invalid", () => {
  const r = parseServerSetMember('{"serviceEndpoint":{"host":"h","port":1},"status":"STARTING"}', {
    origin,
  });
  strictEqual(r.kind, "excluded");
});

Deno.test("member: Mesos master info uses address, falling back to hostname/port", () => {
  const a = parseMesosMaster(
    '{"address":{"hostname":"m1","ip":"10.0.0.1","port":5050},"hostname":"x","port":1}',
    "p",
  );
  strictEqual(a.kind === "ok" && `${a.endpoint.host}:${a.endpoint.port}`, "m1:5050");
  const b = parseMesosMaster('{"hostname":"m2","port":5051}', "p");
  strictEqual(b.kind === "ok" && `${b.endpoint.host}:${b.endpoint.port}`, "m2:5051");
  strictEqual(parseMesosMaster('{"hostname":"m2;","port":5051}', "p").kind, "invalid");
});

Deno.test("paths: slashes normalised as operators write them", () => {
  strictEqual(
    normalizeZkPath("/aurora/", "www-data", "devel", "hello"),
    "/aurora/www-data/devel/hello",
  );
  strictEqual(
    auroraJobPath({
      announcerServersetPath: "sd/mycluster",
      role: "r",
      environment: "e",
      job: "j",
    }),
    "/sd/mycluster/r/e/j",
  );
  strictEqual(normalizeZkPath("//a//b/"), "/a/b");
});
