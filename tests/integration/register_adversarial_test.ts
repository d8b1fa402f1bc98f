/**
 * Self registration against a hostile or broken world, with the real SDK v3 clients: an
 * instance-metadata service answering garbage (an HTML page, a token that cannot be a
 * header, a body that never ends, a megabyte), AWS answering malformed XML or a proxy's
 * error page, and connections hung up on. Each must end as a failed attempt that is
 * reported and retried (never a crash, never a request to AWS carrying garbage), and
 * shutdown stays bounded.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { type Clock, systemClock } from "../../lib/clock.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { selfRegistrationFromFlags } from "../../lib/register/from_flags.ts";
import { InstanceMetadata } from "../../lib/register/instance_metadata.ts";
import type { SelfRegistration } from "../../lib/register/self_registration.ts";
import { withEnv } from "../../testing/aws/env.ts";
import { startFlakyFront } from "../../testing/aws/flaky_front.ts";
import { type MetadataStandInOptions, startMetadataStandIn } from "../../testing/aws/metadata.ts";
import { type AwsStandIn, startAwsStandIn } from "../../testing/aws/server.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

const INSTANCE = "i-0bbbbbbbbbbbbbbb2";
const PUBLIC = "ec2-54-0-0-9.compute-1.amazonaws.com";

interface Setup {
  readonly reg: SelfRegistration;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly metrics: MetricsRegistry;
}

async function elbSelf(
  aws: AwsStandIn,
  metadataUrl: string,
  opts: { clock?: Clock; metadataTimeoutMs?: number; requestTimeoutMs?: number } = {},
  cls = "ElbSelfRegisterer",
  target = ["elb_names=web"],
): Promise<Setup> {
  const metrics = new MetricsRegistry("aurproxy");
  const logger = memoryLogger();
  const reg = (await selfRegistrationFromFlags(
    cls,
    [
      "region=us-east-1",
      ...target,
      `access_key=${aws.accessKeyId}`,
      `secret_key=${aws.secretAccessKey}`,
    ],
    {
      clock: opts.clock ?? new FakeClock(),
      logger,
      metrics,
      registerer: {
        metadata: new InstanceMetadata({
          env: (n) => (n === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? metadataUrl : undefined),
          timeoutMs: opts.metadataTimeoutMs,
        }),
        aws: { requestTimeoutMs: opts.requestTimeoutMs, maxAttempts: 2 },
      },
    },
  ))!;
  return { reg, logger, metrics };
}

/** Registers once with metadata answering as `md` says; returns the outcome. */
async function withMetadata(md: MetadataStandInOptions, route53 = false) {
  await using aws = startAwsStandIn();
  await using meta = startMetadataStandIn(md);
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  aws.world.addZone("Z1");
  const { reg, metrics } = await elbSelf(
    aws,
    meta.url,
    { metadataTimeoutMs: 500 },
    route53 ? "Route53SelfRegisterer" : "ElbSelfRegisterer",
    route53 ? ["domain=proxy.example.com", "hosted_zone_id=Z1", "ttl=60"] : ["elb_names=web"],
  );
  const t0 = performance.now();
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  const took = performance.now() - t0;
  const status = reg.status();
  const health = reg.healthProbe()();
  await reg.deregister();
  return {
    status,
    health,
    took,
    awsCalls: aws.calls.map((c) => c.action),
    failures: metrics.get("registration_failures_total", { op: "register" }),
    elb: aws.world.elbs.get("web"),
    records: aws.world.records("Z1", "proxy.example.com"),
  };
}

const html = () =>
  new Response("<html><body><h1>Welcome to the hotel Wi-Fi</h1></body></html>", {
    headers: { "content-type": "text/html" },
  });

Deno.test("metadata garbage: an HTML page for instance-id is refused before AWS is asked", async () => {
  const r = await withMetadata({
    respond: (q) => q.path === "/latest/meta-data/instance-id" ? html() : undefined,
  });
  strictEqual(r.status.state, "failing");
  strictEqual(
    r.status.lastError?.includes("instance-id is not an EC2 instance id"),
    true,
    r.status.lastError,
  );
  strictEqual(r.health.level, "degraded");
  deepStrictEqual(r.awsCalls, [], "nothing sent to AWS with garbage in it");
  strictEqual(r.failures, 1);
  deepStrictEqual(r.elb, []);
});

Deno.test("metadata garbage: a public-hostname that is not a DNS name never becomes a record", async () => {
  for (const bad of ["<b>ec2</b>", "ec2 host.example.com", "10.0.0.1", "a..b", "x".repeat(300)]) {
    const r = await withMetadata({
      respond: (q) =>
        q.path === "/latest/meta-data/public-hostname" ? new Response(bad) : undefined,
    }, true);
    strictEqual(r.status.state, "failing", bad);
    strictEqual(
      r.status.lastError?.includes("public-hostname is not a DNS name"),
      true,
      `${bad}: ${r.status.lastError}`,
    );
    deepStrictEqual(r.awsCalls, [], bad);
    deepStrictEqual(r.records, [], bad);
  }
  // The real thing still works.
  const ok = await withMetadata({ publicHostname: PUBLIC }, true);
  strictEqual(ok.status.state, "registered");
});

Deno.test("metadata garbage: a token that cannot be sent as a header is an error, not a crash", async () => {
  const r = await withMetadata({
    respond: (q) =>
      q.path === "/latest/api/token" ? new Response("tok\r\nX-Injected: 1\r\n") : undefined,
  });
  strictEqual(r.status.state, "failing");
  strictEqual(
    r.status.lastError?.includes("instance metadata token") &&
      r.status.lastError.includes("not a usable token"),
    true,
    r.status.lastError,
  );
  deepStrictEqual(r.awsCalls, []);
});

Deno.test("metadata garbage: an answer that never ends, or a megabyte, is cut off within the timeout", async () => {
  let drips = 0;
  const drip = await withMetadata({
    respond: (q) => {
      if (q.path !== "/latest/meta-data/instance-id") return undefined;
      // One byte every 100 ms, forever: never idle long enough for an idle timeout.
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          timer = setInterval(() => {
            drips++;
            try {
              c.enqueue(new TextEncoder().encode("i"));
            } catch {
              clearInterval(timer);
            }
          }, 100);
        },
        cancel() {
          clearInterval(timer);
        },
      });
      return new Response(body);
    },
  });
  strictEqual(drip.status.state, "failing");
  strictEqual(drip.took < 2000, true, `${drip.took} ms`);
  strictEqual(
    drip.status.lastError?.includes("no complete answer in 500 ms"),
    true,
    drip.status.lastError,
  );
  strictEqual(drips > 0, true);
  // Let the stream notice its reader went away before the sanitizers look.
  await new Promise((r) => setTimeout(r, 250));

  const big = await withMetadata({
    respond: (q) =>
      q.path === "/latest/meta-data/instance-id"
        ? new Response("i-" + "0".repeat(1 << 20))
        : undefined,
  });
  strictEqual(big.status.state, "failing");
  strictEqual(big.status.lastError?.includes("larger than"), true, big.status.lastError);
  deepStrictEqual(big.awsCalls, []);
});

Deno.test("AWS malformed: broken XML, an empty body and a proxy's HTML error page are failed attempts, retried", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  const clock = new FakeClock();
  const { reg, logger } = await elbSelf(aws, md.url, { clock });
  const answers: [string, { status?: number; body: string }][] = [
    ["truncated XML", {
      body: '<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/' +
        'doc/2012-06-01/"><DescribeLoadBalancersResult><LoadBalancerDescriptions><member>',
    }],
    ["not XML", { body: "\u0000\u0001garbage{" }],
    ["an empty body", { body: "" }],
    ["an HTML error page", {
      status: 502,
      body: "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    }],
  ];
  const errors: string[] = [];
  for (const [i, [what, a]] of answers.entries()) {
    const lift = aws.fault({ action: "DescribeLoadBalancers", ...a });
    if (i === 0) reg.onApplied({ kind: "applied" });
    else await clock.advance(60_000);
    await reg.idle();
    lift();
    const s = reg.status();
    strictEqual(s.state, "failing", `${what}: ${JSON.stringify(s)}`);
    strictEqual(s.consecutiveFailures, i + 1, what);
    strictEqual(reg.healthProbe()().level, "degraded", what);
    errors.push(`${what}: ${s.lastError}`);
  }
  // Every error says something an operator can act on, and none is a stack trace.
  for (const e of errors) strictEqual(!e.includes("\n"), true, e);
  strictEqual(errors[0].includes("XML parse error: missing closing tag"), true, errors[0]);
  strictEqual(errors[1].includes("XML parse error"), true, errors[1]);
  strictEqual(errors[2].includes("ELB web not found"), true, errors[2]);
  strictEqual(errors[3].includes("502"), true, errors[3]);
  await clock.advance(60_000);
  await reg.idle();
  strictEqual(reg.status().state, "registered", logger.lines.join("\n"));
  deepStrictEqual(aws.world.elbs.get("web"), [INSTANCE]);
  await reg.deregister();
  deepStrictEqual(aws.world.elbs.get("web"), []);
});

Deno.test("AWS malformed: an XML entity bomb is not expanded (bounded time and memory)", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  const lol = [
    '<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">',
    ...Array.from({ length: 9 }, (_, i) => {
      const prev = String.fromCharCode(97 + i);
      const name = String.fromCharCode(98 + i);
      return `<!ENTITY ${name} "${`&${prev};`.repeat(10)}">`;
    }),
  ].join("");
  const bomb = `<?xml version="1.0"?><!DOCTYPE d [${lol}]>` +
    `<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/` +
    `2012-06-01/"><DescribeLoadBalancersResult><LoadBalancerDescriptions><member>` +
    `<LoadBalancerName>&j;</LoadBalancerName></member></LoadBalancerDescriptions>` +
    `</DescribeLoadBalancersResult></DescribeLoadBalancersResponse>`;
  const clock = new FakeClock();
  const { reg } = await elbSelf(aws, md.url, { clock });
  aws.fault({ action: "DescribeLoadBalancers", body: bomb, times: 2 });
  const heap = Deno.memoryUsage().heapUsed;
  const t0 = performance.now();
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  const took = performance.now() - t0;
  strictEqual(took < 3000, true, `${took} ms`);
  strictEqual(Deno.memoryUsage().heapUsed - heap < 200 * 1024 * 1024, true);
  // Whatever the parser made of it, it is not the ELB asked for: nothing registered.
  strictEqual(reg.status().state, "failing", JSON.stringify(reg.status()));
  strictEqual(aws.callsOf("RegisterInstancesWithLoadBalancer").length, 0);
  await reg.deregister();
});

Deno.test("connections hung up on: retried by the SDK, then with backoff; a kept-alive connection closed under it costs nothing; shutdown stays quick", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  await using front = startFlakyFront(new URL(aws.url).port);
  using _env = withEnv({ AWS_ENDPOINT_URL: front.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  const clock = new FakeClock();
  const { reg, logger } = await elbSelf(aws, md.url, { clock });

  front.mode("reset");
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  strictEqual(reg.status().state, "failing");
  strictEqual(front.hungUp, 2, "the SDK's two attempts");
  strictEqual(aws.calls.length, 0);
  strictEqual(reg.healthProbe()().level, "degraded");
  const why = reg.status().lastError ?? "";
  strictEqual(/socket hang up|ECONNRESET|connection/i.test(why), true, why);

  front.mode("forward");
  await clock.advance(1000);
  await reg.idle();
  strictEqual(reg.status().state, "registered", logger.lines.join("\n"));
  deepStrictEqual(aws.world.elbs.get("web"), [INSTANCE]);

  // AWS (or a NAT) drops the kept-alive connection between registration and shutdown.
  front.mode("reset");
  front.mode("forward");
  await reg.deregister();
  strictEqual(reg.status().state, "deregistered", logger.lines.join("\n"));
  deepStrictEqual(aws.world.elbs.get("web"), []);
});

Deno.test("connections hung up on at shutdown: deregistration fails fast and is logged, well inside the bound", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  await using front = startFlakyFront(new URL(aws.url).port);
  using _env = withEnv({ AWS_ENDPOINT_URL: front.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  const { reg, logger } = await elbSelf(aws, md.url, { clock: systemClock });
  reg.onApplied({ kind: "applied" });
  await reg.idle();
  strictEqual(reg.status().state, "registered");
  front.mode("reset");
  const t0 = performance.now();
  await reg.deregister();
  const took = performance.now() - t0;
  strictEqual(took < 2500, true, `${took} ms`);
  strictEqual(reg.status().state, "deregister_failed");
  strictEqual(logger.lines.some((l) => l.includes("deregistration from elb web failed")), true);
  // Still registered at AWS: what synchronize, or the ELB's health check, is for.
  deepStrictEqual(aws.world.elbs.get("web"), [INSTANCE]);
});

Deno.test("shutdown while a registration is on its way at AWS: deregistration waits for it, so it is not left registered", async () => {
  await using aws = startAwsStandIn();
  await using md = startMetadataStandIn({ instanceId: INSTANCE });
  using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
  aws.world.instances.push({ id: INSTANCE });
  aws.world.addElb("web");
  // AWS takes 400 ms over the registration, and makes it whether the client still waits or not.
  aws.onCall(async (c) => {
    if (c.action === "RegisterInstancesWithLoadBalancer") {
      await new Promise((r) => setTimeout(r, 400));
    }
  });
  const { reg, logger } = await elbSelf(aws, md.url, { clock: systemClock });
  reg.onApplied({ kind: "applied" });
  while (!aws.callsOf("RegisterInstancesWithLoadBalancer").length) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const t0 = performance.now();
  await reg.deregister();
  const took = performance.now() - t0;
  // Let an abandoned request land at the stand-in, as it would at AWS.
  await new Promise((r) => setTimeout(r, 600));
  deepStrictEqual(aws.world.elbs.get("web"), [], logger.lines.join("\n"));
  strictEqual(reg.status().state, "deregistered");
  strictEqual(took < 2500, true, `${took} ms`);
  deepStrictEqual(
    aws.calls.map((c) => c.action).filter((a) => a !== "DescribeLoadBalancers"),
    ["RegisterInstancesWithLoadBalancer", "DeregisterInstancesFromLoadBalancer"],
  );
});
