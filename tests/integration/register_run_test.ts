/**
 * Self registration through `aurproxy run`, end to end: main.ts as a subprocess with the
 * permission flags of `deno task run`, a real nginx on the config `run --setup` wrote, the
 * real AWS SDK v3 clients signing and sending to the local AWS of `testing/aws` and reading
 * instance metadata from its stand-in, both through the environment variables every AWS
 * SDK reads (`AWS_ENDPOINT_URL*`, `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
 *
 * aurproxy does not run nginx (it is its own process, as in Aurora), so "before the proxy
 * stops" means before aurproxy's own updates and sources stop: each deregistration is
 * checked, at the moment AWS receives it, against the management port still answering
 * `/health` with "shutting down" and the process still alive, and against the order of
 * the shutdown steps aurproxy logs.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import type { AurproxyProcess } from "../../testing/aurproxy_process.ts";
import { type RunRig, startRunRig } from "../../testing/aws/run_rig.ts";
import type { Call } from "../../testing/aws/server.ts";
import { waitFor } from "../../testing/ports.ts";

const INSTANCE = "i-0aaaaaaaaaaaaaaa1";
const PUBLIC = "ec2-54-0-0-1.compute-1.amazonaws.com";
const ELB = [
  "--registration-class=tellapart.aurproxy.register.elb.ElbSelfRegisterer",
  "--registration-arg=region=us-east-1",
  "--registration-arg=elb_names=web",
];

/** What the test saw when AWS received a call. */
interface Seen {
  readonly call: Call;
  readonly health?: string;
  readonly alive?: boolean;
  readonly proxied?: string;
  readonly reloads?: number;
}

/**
 * Records, for each call of `action`, what /health answered and whether aurproxy was
 * alive at that moment (the call is answered only after).
 */
function watchDeregistration(rig: RunRig, p: () => AurproxyProcess | undefined): Seen[] {
  const seen: Seen[] = [];
  rig.aws.onCall(async (call) => {
    if (call.action !== "DeregisterInstancesFromLoadBalancer") return;
    const alive = p()?.alive;
    const health = (await rig.mgmt("/health")).body;
    seen.push({ call, health, alive });
  });
  return seen;
}

/** Waits for `fn`, failing with what aurproxy logged. */
async function until(p: AurproxyProcess, what: string, fn: () => unknown): Promise<void> {
  try {
    await waitFor(what, fn, 15_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\naurproxy:\n${p.log()}`);
  }
}

/** Asserts the shutdown went: deregistered, then updates stopped, then sources, then done. */
function assertDeregisteredFirst(p: AurproxyProcess, deregistered: string): void {
  // The last match: the running graph's own sequence (one step of the process's) logs
  // its "shutdown complete" before the process's last steps run.
  const at = (pattern: string) => {
    const i = p.lines.findLastIndex((l) => l.text.includes(pattern));
    strictEqual(i >= 0, true, `no "${pattern}" in:\n${p.log()}`);
    return i;
  };
  const order = [
    at("shutdown: deregister/registration"),
    at(deregistered),
    at("shutdown: flush/proxy updates"),
    at("shutdown: close/sources"),
    at("shutdown: close/management server"),
    at("shutdown complete"),
  ];
  deepStrictEqual(order, [...order].sort((a, b) => a - b), p.log());
}

Deno.test("run: ELB self registration waits for nginx to serve, registers once; --setup registers nothing; /quitquitquit deregisters first", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE }, { id: "i-0other" });
  rig.aws.world.addElb("web", ["i-0other"]);

  const setup = await rig.setup(ELB);
  strictEqual(setup.code, 0, setup.stderr);
  strictEqual(rig.aws.calls.length, 0, "--setup registers nothing");
  strictEqual(rig.metadata.requests.length, 0, "--setup does not even ask who it is");

  // What nginx and aurproxy showed when AWS got the registration.
  let atRegister: Seen | undefined;
  rig.aws.onCall(async (call) => {
    if (call.action !== "RegisterInstancesWithLoadBalancer") return;
    const proxied = (await rig.proxy()).body;
    const reloads = (await rig.metrics())["aurproxy.reloads"];
    atRegister = { call, proxied, reloads };
  });
  // aurproxy runs before nginx does: every apply fails (no nginx to reload) and nothing
  // may be registered meanwhile.
  const p = await rig.run(ELB);
  const deregistration = watchDeregistration(rig, () => p);
  await waitFor(
    "two failed applies",
    async () => ((await rig.metrics())["aurproxy.reload_failures"] ?? 0) >= 2,
  );
  strictEqual(rig.aws.calls.length, 0, "nothing registered while nginx is not serving");
  strictEqual(rig.metadata.requests.length, 0);
  const waiting = (await rig.mgmt("/health/details")).body;
  strictEqual(
    waiting.includes("registration (elb web): waiting for the first successful proxy update"),
    true,
    waiting,
  );

  const nginxStarting = performance.now();
  await rig.startNginx();
  await until(p, "registered in the ELB", () => rig.aws.world.elbs.get("web")?.includes(INSTANCE));
  deepStrictEqual(rig.aws.world.elbs.get("web"), ["i-0other", INSTANCE]);
  strictEqual(atRegister?.proxied, "web", "nginx served the config when AWS got the call");
  strictEqual((atRegister?.reloads ?? 0) >= 1, true, "aurproxy had applied (and reloaded)");
  strictEqual(rig.aws.calls.every((c) => c.at > nginxStarting), true);
  // Who it is came from IMDSv2 (a token, then a read carrying it).
  deepStrictEqual(
    rig.metadata.requests.map((r) => `${r.method} ${r.path}`),
    ["PUT /latest/api/token", "GET /latest/meta-data/instance-id"],
  );
  strictEqual(rig.metadata.requests[1].token?.startsWith("token-"), true);

  // Not twice: five update periods later, still the one registration.
  const before = rig.aws.calls.length;
  await new Promise((r) => setTimeout(r, 1000));
  strictEqual(rig.aws.callsOf("RegisterInstancesWithLoadBalancer").length, 1);
  strictEqual(rig.aws.calls.length, before);
  deepStrictEqual(rig.aws.calls.map((c) => c.action), [
    "DescribeLoadBalancers",
    "RegisterInstancesWithLoadBalancer",
  ]);
  for (const c of rig.aws.calls) {
    strictEqual(c.refused, undefined);
    strictEqual(c.signature?.accessKeyId, rig.aws.accessKeyId, "the SDK chain's keys (env)");
    strictEqual(c.signature?.region, "us-east-1");
  }
  const m = await rig.metrics();
  strictEqual(m["aurproxy.registration_attempts.op.register"], 1);
  strictEqual(m["aurproxy.registration_failures.op.register"], 0);
  strictEqual(m["aurproxy.registration_registered"], 1);
  const health = await rig.mgmt("/health");
  strictEqual(health.body, "OK");
  strictEqual(health.headers["x-aurproxy-health"], "ok");
  strictEqual(
    (await rig.mgmt("/health/details")).body.includes("registration (elb web): registered"),
    true,
  );
  const status = JSON.parse((await rig.mgmt("/status/registration.json")).body);
  strictEqual(status.registerer, "elb web");
  strictEqual(status.state, "registered");
  strictEqual(status.attempts, 1);
  strictEqual(typeof status.registeredAt, "number");

  strictEqual((await rig.mgmt("/quitquitquit", "POST")).body, "OK");
  const exit = await p.exited;
  strictEqual(exit.code, 0, p.log());
  deepStrictEqual(rig.aws.world.elbs.get("web"), ["i-0other"]);
  strictEqual(deregistration.length, 1);
  strictEqual(deregistration[0].health?.startsWith("Health checks failed: shutting down"), true);
  strictEqual(deregistration[0].alive, true);
  strictEqual(deregistration[0].call.at < exit.at, true);
  assertDeregisteredFirst(p, "deregistered from elb web");
  strictEqual(rig.aws.hookErrors.length, 0, String(rig.aws.hookErrors));
  // nginx is not aurproxy's to stop: it keeps serving.
  strictEqual((await rig.proxy()).body, "web");
});

Deno.test("run: /abortabortabort, SIGTERM and SIGINT each deregister as the first shutdown step", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  rig.aws.world.addElb("web", []);
  strictEqual((await rig.setup(ELB)).code, 0);
  await rig.startNginx();
  let p: AurproxyProcess | undefined;
  const deregistration = watchDeregistration(rig, () => p);
  const ways: [string, (p: AurproxyProcess) => Promise<void>][] = [
    ["/abortabortabort", async () => {
      strictEqual((await rig.mgmt("/abortabortabort", "POST")).body, "OK");
    }],
    ["SIGTERM", (p) => Promise.resolve(p.kill("SIGTERM"))],
    ["SIGINT", (p) => Promise.resolve(p.kill("SIGINT"))],
  ];
  for (const [i, [how, stop]] of ways.entries()) {
    p = await rig.run(ELB);
    await until(p, `registered (${how})`, () => rig.aws.world.elbs.get("web")?.includes(INSTANCE));
    await stop(p);
    const exit = await p.exited;
    strictEqual(exit.code, 0, `${how}:\n${p.log()}`);
    deepStrictEqual(rig.aws.world.elbs.get("web"), [], how);
    strictEqual(deregistration.length, i + 1, how);
    strictEqual(
      deregistration[i].health?.startsWith("Health checks failed: shutting down"),
      true,
      how,
    );
    strictEqual(deregistration[i].alive, true, how);
    strictEqual(deregistration[i].call.at < exit.at, true, how);
    strictEqual(p.line(`shutting down (`)?.text.includes(how.replace(/^\//, "")), true, p.log());
    assertDeregisteredFirst(p, "deregistered from elb web");
  }
  strictEqual(rig.aws.callsOf("RegisterInstancesWithLoadBalancer").length, 3);
  strictEqual(rig.aws.hookErrors.length, 0, String(rig.aws.hookErrors));
});

Deno.test("run: Route 53 self registration with explicit keys and the per-service endpoint variable; the set's TTL wins", async () => {
  await using rig = await startRunRig({ publicHostname: PUBLIC });
  const other = "ec2-54-0-0-2.compute-1.amazonaws.com";
  rig.aws.world.addZone("Z1", [{
    name: "proxy.example.com",
    type: "CNAME",
    setIdentifier: other,
    weight: 1,
    ttl: 300,
    values: [other],
  }]);
  // Keys only as arguments; the endpoint only for Route 53.
  const { AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, AWS_ENDPOINT_URL: url, ...env } =
    rig.env;
  rig.env = { ...env, AWS_ENDPOINT_URL_ROUTE_53: url };
  const flags = [
    "--registration-class=tellapart.aurproxy.register.route53.Route53SelfRegisterer",
    "--registration-arg=region=us-east-1",
    "--registration-arg=domain=proxy.example.com",
    "--registration-arg=hosted_zone_id=/hostedzone/Z1",
    "--registration-arg=ttl=60",
    `--registration-arg=access_key=${rig.aws.accessKeyId}`,
    `--registration-arg=secret_key=${rig.aws.secretAccessKey}`,
  ];
  strictEqual((await rig.setup(flags)).code, 0);
  await rig.startNginx();
  const p = await rig.run(flags);
  await until(p, "our record", () => rig.aws.world.records("Z1", "proxy.example.com").length === 2);
  deepStrictEqual(
    rig.aws.world.records("Z1", "proxy.example.com").find((r) => r.setIdentifier === PUBLIC),
    {
      name: "proxy.example.com.",
      type: "CNAME",
      setIdentifier: PUBLIC,
      weight: 1,
      ttl: 300,
      values: [PUBLIC],
    },
  );
  await p.waitForLine("the record set has TTL 300; registering with it instead of ttl=60");
  const md = rig.metadata.requests.map((r) => r.path);
  deepStrictEqual(md, ["/latest/api/token", "/latest/meta-data/public-hostname"]);
  for (const c of rig.aws.calls) {
    strictEqual(c.service, "route53");
    strictEqual(c.refused, undefined);
    strictEqual(c.signature?.accessKeyId, rig.aws.accessKeyId);
  }
  p.kill("SIGTERM");
  strictEqual((await p.exited).code, 0, p.log());
  deepStrictEqual(
    rig.aws.world.records("Z1", "proxy.example.com").map((r) => r.setIdentifier),
    [other],
  );
  assertDeregisteredFirst(p, "deregistered from route53 proxy.example.com");
});

Deno.test("run: ELBv2 self registration of the instance on its port, drained at SIGTERM", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  const arn = rig.aws.world.addTargetGroup("web", 80);
  const flags = [
    "--registration-class=ElbV2SelfRegisterer",
    "--registration-arg=region=us-east-1",
    `--registration-arg=target_group_arns=${arn}`,
    `--registration-arg=port=${rig.proxyPort}`,
  ];
  strictEqual((await rig.setup(flags)).code, 0);
  await rig.startNginx();
  const p = await rig.run(flags);
  const tg = rig.aws.world.targetGroups.get(arn)!;
  await until(p, "our target", () => tg.targets.length === 1);
  deepStrictEqual(tg.targets, [{ id: INSTANCE, port: rig.proxyPort, state: "healthy" }]);
  p.kill("SIGTERM");
  strictEqual((await p.exited).code, 0, p.log());
  deepStrictEqual(tg.targets, [{ id: INSTANCE, port: rig.proxyPort, state: "draining" }]);
  assertDeregisteredFirst(p, "deregistered from elbv2");
});
