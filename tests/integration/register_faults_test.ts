/**
 * AWS misbehaving under self registration, with the real SDK: throttling retried by the
 * SDK itself, 500s and timeouts reported, counted and retried with backoff, and a hung
 * endpoint that costs shutdown no more than the stated bound.
 */
import { strictEqual } from "node:assert";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { selfRegistrationFromFlags } from "../../lib/register/from_flags.ts";
import { InstanceMetadata } from "../../lib/register/instance_metadata.ts";
import { startMetadataStandIn } from "../../testing/aws/metadata.ts";
import { withEnv } from "../../testing/aws/env.ts";
import { type AwsStandIn, startAwsStandIn } from "../../testing/aws/server.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const INSTANCE = "i-0fault";

async function setup(clock: Clock, aws: AwsStandIn, metadataUrl: string, opts: {
  requestTimeoutMs?: number;
  maxAttempts?: number;
  deregisterTimeoutMs?: number;
} = {}) {
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const reg = (await selfRegistrationFromFlags(
    "ElbSelfRegisterer",
    [
      "region=us-east-1",
      "elb_names=web",
      `access_key=${aws.accessKeyId}`,
      `secret_key=${aws.secretAccessKey}`,
    ],
    {
      clock,
      logger,
      metrics,
      registerer: {
        metadata: new InstanceMetadata({ env: () => metadataUrl }),
        aws: { requestTimeoutMs: opts.requestTimeoutMs, maxAttempts: opts.maxAttempts },
      },
      options: { deregisterTimeoutMs: opts.deregisterTimeoutMs },
    },
  ))!;
  return { reg, metrics, logger };
}

Deno.test("faults: a Throttling answer (400) is retried by the SDK; registration succeeds first time", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  const clock = new FakeClock();
  const { reg, metrics } = await setup(clock, aws, md.url);
  aws.fault({
    action: "RegisterInstancesWithLoadBalancer",
    status: 400,
    code: "Throttling",
    times: 1,
  });
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  strictEqual(aws.callsOf("RegisterInstancesWithLoadBalancer").length, 2);
  strictEqual(aws.callsOf("RegisterInstancesWithLoadBalancer")[0].refused, "Throttling");
  strictEqual(metrics.get("registration_failures_total", { op: "register" }), 0);
  strictEqual(aws.world.elbs.get("web")?.length, 1);
  await reg.deregister();
});

Deno.test("faults: 500s past the SDK's attempts are reported, counted, shown on health and retried with backoff", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  const clock = new FakeClock();
  const { reg, metrics, logger } = await setup(clock, aws, md.url, { maxAttempts: 2 });
  const lift = aws.fault({ action: "DescribeLoadBalancers", status: 500, code: "InternalFailure" });
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  strictEqual(aws.callsOf("DescribeLoadBalancers").length, 2, "the SDK's own attempts");
  strictEqual(reg.status().state, "failing");
  const health = reg.healthProbe()();
  strictEqual(health.level, "degraded");
  strictEqual(health.lines[0].includes("InternalFailure"), true, health.lines[0]);
  strictEqual(metrics.get("registration_failures_total", { op: "register" }), 1);
  strictEqual(
    logger.lines.some((l) =>
      l.includes("ERROR register: registration with elb web failed (attempt 1), retrying in 1s")
    ),
    true,
    logger.lines.join("\n"),
  );
  lift();
  await clock.advance(1000);
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  strictEqual(reg.healthProbe()().level, "ok");
  strictEqual(aws.world.elbs.get("web")?.length, 1);
  await reg.deregister();
});

Deno.test("faults: a request that times out is retried by the SDK, then reported and retried with backoff", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  const clock = new FakeClock();
  const { reg } = await setup(clock, aws, md.url, { requestTimeoutMs: 300, maxAttempts: 2 });
  const lift = aws.fault({ action: "DescribeLoadBalancers", hang: true });
  const t0 = Date.now();
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  const took = Date.now() - t0;
  strictEqual(took < 3000, true, `${took} ms`);
  strictEqual(aws.callsOf("DescribeLoadBalancers").length, 2);
  strictEqual(reg.status().state, "failing");
  strictEqual(reg.status().lastError?.includes("TimeoutError"), true, reg.status().lastError);
  lift();
  await clock.advance(1000);
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  await reg.deregister();
});

Deno.test("faults: a hung AWS endpoint holds shutdown for the deregistration bound, no longer", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  // Long request timeouts: only the deregistration bound (1 s here, 5 s by default) ends it.
  const { reg, logger } = await setup(systemClock, aws, md.url, {
    requestTimeoutMs: 60_000,
    deregisterTimeoutMs: 1000,
  });
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  aws.fault({ hang: true });
  const t0 = Date.now();
  await reg.deregister();
  const took = Date.now() - t0;
  strictEqual(took >= 950 && took < 2000, true, `${took} ms`);
  strictEqual(reg.status().state, "deregister_failed");
  strictEqual(
    logger.lines.some((l) => l.includes("deregistration from elb web failed")),
    true,
  );
});
