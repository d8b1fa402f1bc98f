/**
 * Self registration with the real AWS SDK v3 clients, signing and sending, against the
 * local AWS of `testing/aws` (reached through `AWS_ENDPOINT_URL`, as a user would point
 * them at an emulator) and an instance-metadata stand-in.
 */
import { deepStrictEqual, rejects, strictEqual } from "node:assert";
import { systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { parseRegistrationArgs } from "../../lib/register/args.ts";
import { createSelfRegisterer } from "../../lib/register/factory.ts";
import { selfRegistrationFromFlags } from "../../lib/register/from_flags.ts";
import { InstanceMetadata } from "../../lib/register/instance_metadata.ts";
import { registererKind } from "../../lib/register/kinds.ts";
import { RegistrationError } from "../../lib/register/registerer.ts";
import { startMetadataStandIn } from "../../testing/aws/metadata.ts";
import { withEnv } from "../../testing/aws/env.ts";
import { type AwsStandIn, startAwsStandIn } from "../../testing/aws/server.ts";

const INSTANCE = "i-0aaaaaaaaaaaaaaa1";
const PUBLIC = "ec2-54-0-0-1.compute-1.amazonaws.com";

function keys(aws: AwsStandIn): string[] {
  return ["region=us-east-1", `access_key=${aws.accessKeyId}`, `secret_key=${aws.secretAccessKey}`];
}

function self(
  aws: AwsStandIn,
  cls: string,
  args: string[],
  metadataUrl: string,
  logger = memoryLogger(),
) {
  const metadata = new InstanceMetadata({
    env: (n) => (n === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? metadataUrl : undefined),
  });
  return createSelfRegisterer(
    parseRegistrationArgs(registererKind(cls, "self"), [...keys(aws), ...args]),
    {
      logger,
      metadata,
    },
  );
}

const writes = (aws: AwsStandIn) =>
  aws.calls.filter((c) => /^(Register|Deregister|Change)/.test(c.action)).map((c) => c.action);

Deno.test("ELB self registration: registered after the first apply and not twice, deregistered at shutdown; every call signed", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url, AWS_EC2_METADATA_SERVICE_ENDPOINT: md.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web", ["i-0other"]);
  aws.world.addElb("api", [INSTANCE]);
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const reg = (await selfRegistrationFromFlags(
    "tellapart.aurproxy.register.elb.ElbSelfRegisterer",
    [...keys(aws), "elb_names=web,api"],
    { clock: systemClock, logger, metrics },
  ))!;
  reg.onApplied({ kind: "invalid" });
  await reg.idle();
  strictEqual(aws.calls.length, 0, "nothing before the proxy serves");
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  reg.onApplied({ kind: "unchanged" });
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  deepStrictEqual(aws.world.elbs.get("web"), ["i-0other", INSTANCE]);
  deepStrictEqual(aws.world.elbs.get("api"), [INSTANCE]);
  // Registered only where absent; one DescribeLoadBalancers for both names.
  deepStrictEqual(aws.calls.map((c) => c.action), [
    "DescribeLoadBalancers",
    "RegisterInstancesWithLoadBalancer",
  ]);
  deepStrictEqual(aws.calls[0].params["LoadBalancerNames.member.2"], "api");
  strictEqual(aws.calls[1].params.LoadBalancerName, "web");
  // The instance id came from IMDSv2: a token first, then reads carrying it.
  strictEqual(md.requests[0].method, "PUT");
  strictEqual(md.requests[1].path, "/latest/meta-data/instance-id");
  strictEqual(md.requests[1].token?.startsWith("token-"), true);
  for (const c of aws.calls) {
    strictEqual(c.refused, undefined);
    strictEqual(c.signature?.accessKeyId, aws.accessKeyId);
    strictEqual(c.signature?.region, "us-east-1");
    strictEqual(c.signature?.service, "elasticloadbalancing");
    for (const h of ["host", "x-amz-date", "content-type"]) {
      strictEqual(c.signature?.signedHeaders.includes(h), true, h);
    }
  }
  aws.world.elbs.set("api", []);
  await reg.deregister();
  strictEqual(reg.status().state, "deregistered");
  deepStrictEqual(aws.world.elbs.get("web"), ["i-0other"]);
  // Deregistered only where present (api no longer had it).
  deepStrictEqual(writes(aws), [
    "RegisterInstancesWithLoadBalancer",
    "DeregisterInstancesFromLoadBalancer",
  ]);
  strictEqual(metrics.get("registration_registered"), 0);
  strictEqual(
    logger.lines.some((l) =>
      l.includes(
        "target=api instance=i-0aaaaaaaaaaaaaaa1 action=NONE reasons=NOT_ALREADY_REGISTERED",
      )
    ),
    true,
  );
});

Deno.test("Route 53 self registration: a weighted CNAME per host; an existing TTL wins (warned) and is used to delete", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ publicHostname: PUBLIC });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  const args = ["domain=proxy.example.com", "hosted_zone_id=Z1", "ttl=60"];
  // An empty set: the configured TTL.
  aws.world.addZone("Z1");
  const first = self(aws, "Route53SelfRegisterer", args, md.url);
  await first.register();
  deepStrictEqual(aws.world.records("Z1", "proxy.example.com"), [{
    name: "proxy.example.com.",
    type: "CNAME",
    setIdentifier: PUBLIC,
    weight: 1,
    ttl: 60,
    values: [PUBLIC],
  }]);
  await first.register();
  strictEqual(aws.callsOf("ChangeResourceRecordSets").length, 1, "not twice");
  await first.deregister();
  deepStrictEqual(aws.world.records("Z1", "proxy.example.com"), []);
  first.close();

  // A set of TTL 300 already: 300 wins over ttl=60, with a warning, and DELETE uses it.
  aws.world.addZone("Z1", [
    {
      name: "proxy.example.com",
      type: "CNAME",
      setIdentifier: "other",
      weight: 1,
      ttl: 300,
      values: ["other"],
    },
    { name: "zzz.example.com", type: "A", ttl: 60, values: ["10.0.0.1"] },
  ]);
  const logger = memoryLogger();
  const second = self(aws, "Route53SelfRegisterer", args, md.url, logger);
  const [o] = await second.register();
  strictEqual(o.action, "REGISTER");
  strictEqual(
    aws.world.records("Z1", "proxy.example.com").find((r) => r.setIdentifier === PUBLIC)?.ttl,
    300,
  );
  strictEqual(
    logger.lines.some((l) =>
      l.includes(
        "WARN proxy.example.com: the record set has TTL 300; registering with it instead of ttl=60",
      )
    ),
    true,
    logger.lines.join("\n"),
  );
  deepStrictEqual(await second.status(), [{ target: "proxy.example.com", registered: true }]);
  await second.deregister();
  deepStrictEqual(aws.world.records("Z1", "proxy.example.com").map((r) => r.setIdentifier), [
    "other",
  ]);
  second.close();
});

Deno.test("Route 53 self registration: several records for this host is an error and changes nothing", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ publicHostname: PUBLIC });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.addZone("Z1", [
    {
      name: "proxy.example.com",
      type: "CNAME",
      setIdentifier: PUBLIC,
      weight: 1,
      ttl: 60,
      values: [PUBLIC],
    },
    {
      name: "proxy.example.com",
      type: "CNAME",
      setIdentifier: "manual",
      weight: 5,
      ttl: 60,
      values: [PUBLIC],
    },
  ]);
  const r = self(aws, "Route53SelfRegisterer", [
    "domain=proxy.example.com",
    "hosted_zone_id=Z1",
    "ttl=60",
  ], md.url);
  for (const op of [() => r.register(), () => r.deregister()]) {
    await rejects(op(), (e: unknown) => {
      strictEqual(e instanceof RegistrationError, true);
      const err = e as RegistrationError;
      strictEqual(err.message.includes(`2 records for ${PUBLIC}`), true, err.message);
      strictEqual(err.outcomes[0].action, "NONE");
      deepStrictEqual(err.outcomes[0].reasons, ["NO_REASON"]);
      return true;
    });
  }
  strictEqual(aws.callsOf("ChangeResourceRecordSets").length, 0);
  strictEqual(aws.world.records("Z1", "proxy.example.com").length, 2);
  r.close();
});

Deno.test("ELBv2 self registration: the instance on the configured port, only where absent; deregistered targets drain", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.instances.push({ id: INSTANCE });
  const a = aws.world.addTargetGroup("a", 80, [{ id: INSTANCE, port: 9090 }]);
  const b = aws.world.addTargetGroup("b", 80, [{ id: INSTANCE, port: 8080 }]);
  const r = self(aws, "ElbV2SelfRegisterer", [`target_group_arns=${a},${b}`, "port=8080"], md.url);
  const outcomes = await r.register();
  deepStrictEqual(outcomes.map((o) => o.action), ["REGISTER", "NONE"]);
  deepStrictEqual(aws.world.targetGroups.get(a)?.targets.map((t) => `${t.id}:${t.port}`), [
    `${INSTANCE}:9090`,
    `${INSTANCE}:8080`,
  ]);
  strictEqual(aws.callsOf("RegisterTargets")[0].params["Targets.member.1.Port"], "8080");
  await r.deregister();
  deepStrictEqual(aws.world.targetGroups.get(a)?.targets.map((t) => t.state), [
    "healthy",
    "draining",
  ]);
  deepStrictEqual(aws.world.targetGroups.get(b)?.targets.map((t) => t.state), ["draining"]);
  // Draining targets count as gone: deregistering again changes nothing.
  await r.deregister();
  strictEqual(aws.callsOf("DeregisterTargets").length, 2);
  r.close();
});

Deno.test("instance metadata: IMDSv1 fallback when the token is refused, never through HTTP_PROXY; v1 can be forbidden", async () => {
  await using md = startMetadataStandIn({
    instanceId: INSTANCE,
    v1Only: true,
    tokenRefusalStatus: 405,
  });
  using _env = withEnv({ HTTP_PROXY: "http://127.0.0.1:9", http_proxy: "http://127.0.0.1:9" });
  const env = (extra: Record<string, string> = {}) => (n: string) =>
    ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: md.url, ...extra } as Record<string, string>)[n];
  strictEqual(await new InstanceMetadata({ env: env() }).get("instance-id"), INSTANCE);
  deepStrictEqual(md.requests.map((r) => `${r.method} ${r.path} ${r.token ?? "-"}`), [
    "PUT /latest/api/token -",
    "GET /latest/meta-data/instance-id -",
  ]);
  await rejects(
    new InstanceMetadata({ env: env({ AWS_EC2_METADATA_V1_DISABLED: "true" }) }).get("instance-id"),
    /HTTP 405 \(IMDSv1 fallback disabled by AWS_EC2_METADATA_V1_DISABLED\)/,
  );
  await rejects(
    new InstanceMetadata({ env: env() }).get("public-hostname"),
    /has no public-hostname \(404/,
  );
  // Nothing listening: a clear error, within the timeout.
  const t0 = Date.now();
  await rejects(
    new InstanceMetadata({
      env: (n) => (n === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? "http://127.0.0.1:9" : undefined),
    })
      .get("instance-id"),
    /instance metadata/,
  );
  strictEqual(Date.now() - t0 < 3000, true);
});

Deno.test("credentials and endpoints: a wrong secret is refused by signature; the SDK chain and per-service endpoint variables work", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  {
    using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
    const wrong = createSelfRegisterer(
      parseRegistrationArgs(registererKind("elb_self", "self"), [
        "region=us-east-1",
        `access_key=${aws.accessKeyId}`,
        "secret_key=not-the-secret",
        "elb_names=web",
      ]),
      {
        logger: memoryLogger(),
        metadata: new InstanceMetadata({ env: (n) => n.endsWith("ENDPOINT") ? md.url : undefined }),
      },
    );
    await rejects(wrong.register(), /SignatureDoesNotMatch/);
    wrong.close();
    strictEqual(aws.calls[0].refused, "SignatureDoesNotMatch: signature does not match");
  }
  // No keys in the arguments: the SDK's chain, here a shared credentials file; and only
  // the per-service endpoint variable points at the stand-in.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/credentials`,
      `[default]\naws_access_key_id = ${aws.accessKeyId}\naws_secret_access_key = ${aws.secretAccessKey}\n`,
    );
    using _env = withEnv({
      AWS_ENDPOINT_URL: "http://127.0.0.1:9",
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING: aws.url,
      AWS_SHARED_CREDENTIALS_FILE: `${dir}/credentials`,
      AWS_CONFIG_FILE: `${dir}/config`,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_PROFILE: undefined,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
    });
    const chain = createSelfRegisterer(
      parseRegistrationArgs(registererKind("elb_self", "self"), [
        "region=us-east-1",
        "elb_names=web",
      ]),
      { logger: memoryLogger(), metadata: new InstanceMetadata({ env: () => md.url }) },
    );
    await chain.register();
    chain.close();
    deepStrictEqual(aws.world.elbs.get("web"), [INSTANCE]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
