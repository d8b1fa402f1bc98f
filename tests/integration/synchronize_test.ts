/**
 * `aurproxy synchronize` as an operator's cron runs it: the CLI in a subprocess with the
 * permission flags of `deno task run`, a real ZooKeeper (or a static source) as the
 * registration source, and the local AWS of `testing/aws` through `AWS_ENDPOINT_URL`.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { startAwsStandIn } from "../../testing/aws/server.ts";
import { startZooKeeper } from "../../testing/zookeeper.ts";
import type { AwsStandIn } from "../../testing/aws/server.ts";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: string[];
}

async function synchronize(
  aws: AwsStandIn,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  const out = await runAurproxy(["synchronize", ...args], { env: { ...aws.env(), ...env } });
  return { ...out, lines: out.stdout.split("\n").filter(Boolean) };
}

const KEYS = ["--registration-arg=region=us-east-1"];
const writes = (aws: AwsStandIn) =>
  aws.calls.filter((c) => /^(Register|Deregister|Change)/.test(c.action)).length;

const PUB1 = "ec2-54-0-0-1.compute-1.amazonaws.com";
const PRIV2 = "ip-10-0-0-2.ec2.internal";
const IP3 = "10.0.0.3";

function ec2World(aws: AwsStandIn): void {
  aws.world.instances.push(
    {
      id: "i-1",
      publicDnsName: PUB1,
      privateDnsName: "ip-10-0-0-1.ec2.internal",
      privateIp: "10.0.0.1",
    },
    { id: "i-2", privateDnsName: PRIV2, privateIp: "10.0.0.2" },
    { id: "i-3", privateDnsName: "ip-10-0-0-3.ec2.internal", privateIp: IP3 },
    { id: "i-9", privateDnsName: "ip-10-0-0-9.ec2.internal", privateIp: "10.0.0.9" },
    // A terminated instance keeps its private name for a while: never matched.
    { id: "i-dead", privateDnsName: PRIV2, state: "terminated" },
  );
}

Deno.test("synchronize: an Aurora job in ZooKeeper into an ELB: dry run, --write, remove_other_instances, JSON", async () => {
  const zk = await startZooKeeper();
  await using aws = startAwsStandIn();
  try {
    const announcer = await zk.announcer();
    for (const host of [PUB1, PRIV2, IP3]) {
      await announcer.announce("/aurora/proxy/prod/web", { host, port: 31000 });
    }
    ec2World(aws);
    aws.world.addElb("web", ["i-1", "i-9"]);
    const source = JSON.stringify({
      source_class: "tellapart.aurproxy.source.AuroraProxySource",
      zk_servers: zk.connectString,
      announcer_serverset_path: "/aurora/",
      role: "proxy",
      environment: "prod",
      job: "web",
    });
    const base = [
      `--registration-source=${source}`,
      "--registration-class=tellapart.aurproxy.register.elb.ElbJobRegisterer",
      ...KEYS,
      "--registration-arg=elb_names=web",
    ];

    const dry = await synchronize(aws, [...base, "--registration-arg=remove_other_instances=true"]);
    strictEqual(dry.code, 0, dry.stderr);
    deepStrictEqual(dry.lines.sort(), [
      `target=web instance=i-1 host=${PUB1} action=NONE reasons=ALREADY_REGISTERED write=FALSE`,
      `target=web instance=i-2 host=${PRIV2} action=REGISTER reasons=NOT_YET_REGISTERED write=FALSE`,
      `target=web instance=i-3 host=${IP3} action=REGISTER reasons=NOT_YET_REGISTERED write=FALSE`,
      "target=web instance=i-9 action=REMOVE reasons=ALREADY_REGISTERED,NO_CORRESPONDING_TASK write=FALSE",
    ]);
    strictEqual(dry.stderr.includes("dry run (--write makes the changes)"), true, dry.stderr);
    strictEqual(writes(aws), 0, "a dry run changes nothing");
    deepStrictEqual(aws.world.elbs.get("web"), ["i-1", "i-9"]);
    // Each host found by what it is: public DNS name, private DNS name, private address.
    deepStrictEqual(
      aws.callsOf("DescribeInstances").map((c) =>
        `${c.params["Filter.1.Name"]}=${c.params["Filter.1.Value.1"]}`
      ),
      [`dns-name=${PUB1}`, `private-dns-name=${PRIV2}`, `private-ip-address=${IP3}`],
    );

    const keep = await synchronize(aws, [
      ...base,
      "--registration-arg=remove_other_instances=false",
      "--write",
    ]);
    strictEqual(keep.code, 0, keep.stderr);
    deepStrictEqual(aws.world.elbs.get("web"), ["i-1", "i-9", "i-2", "i-3"]);
    strictEqual(
      keep.lines.includes(
        "target=web instance=i-9 action=NONE reasons=REMOVE_OTHER_INSTANCE_FALSE write=TRUE result=ok",
      ),
      true,
      keep.stdout,
    );

    const json = await synchronize(aws, [
      ...base,
      "--registration-arg=remove_other_instances=true",
      "--write",
      "--output=json",
    ]);
    strictEqual(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    strictEqual(doc.ok, true);
    strictEqual(doc.write, true);
    strictEqual(doc.registerer, "tellapart.aurproxy.register.elb.ElbJobRegisterer");
    deepStrictEqual([...doc.hosts].sort(), [IP3, PUB1, PRIV2].sort());
    deepStrictEqual(
      doc.decisions.find((d: { instance: string }) => d.instance === "i-9"),
      {
        target: "web",
        instance: "i-9",
        action: "REMOVE",
        reasons: ["ALREADY_REGISTERED", "NO_CORRESPONDING_TASK"],
        write: true,
        result: "ok",
      },
    );
    deepStrictEqual(aws.world.elbs.get("web"), ["i-1", "i-2", "i-3"]);
    await announcer.close();
  } finally {
    await zk.destroy();
  }
});

Deno.test("synchronize: a job with no instances never empties the ELB unless --remove-last; an unreadable source is exit 1, nothing touched", async () => {
  const zk = await startZooKeeper();
  await using aws = startAwsStandIn();
  try {
    const announcer = await zk.announcer();
    await announcer.createNode("/aurora/proxy/prod/empty", "");
    ec2World(aws);
    aws.world.addElb("web", ["i-1", "i-9"]);
    const source = (job: string, zkServers = zk.connectString) =>
      `--registration-source=${
        JSON.stringify({
          source_class: "aurora",
          zk_servers: zkServers,
          role: "proxy",
          environment: "prod",
          job,
        })
      }`;
    const args = [
      "--registration-class=elb_job",
      ...KEYS,
      "--registration-arg=elb_names=web",
      "--registration-arg=remove_other_instances=true",
      "--write",
    ];
    const guarded = await synchronize(aws, [source("empty"), ...args]);
    strictEqual(guarded.code, 0, guarded.stderr);
    deepStrictEqual(guarded.lines, [
      'target=web instance=i-1 action=NONE reasons=LAST_REGISTERED write=TRUE result=ok message="the last registered member is kept (--remove-last removes it)"',
      "target=web instance=i-9 action=REMOVE reasons=ALREADY_REGISTERED,NO_CORRESPONDING_TASK write=TRUE result=ok",
    ]);
    deepStrictEqual(aws.world.elbs.get("web"), ["i-1"]);
    const forced = await synchronize(aws, [source("empty"), ...args, "--remove-last"]);
    strictEqual(forced.code, 0, forced.stderr);
    deepStrictEqual(aws.world.elbs.get("web"), []);

    aws.world.addElb("web", ["i-1", "i-9"]);
    const callsBefore = aws.calls.length;
    const missing = await synchronize(aws, [source("nosuchjob"), ...args]);
    strictEqual(missing.code, 1, missing.stderr);
    strictEqual(
      missing.stderr.includes(
        "registration source could not be read, nothing changed: aurora:" +
          `${zk.connectString}/aurora/proxy/prod/nosuchjob: ZooKeeper path /aurora/proxy/prod/nosuchjob does not exist`,
      ),
      true,
      missing.stderr,
    );
    strictEqual(aws.calls.length, callsBefore, "AWS not even asked");

    await announcer.close();
    await zk.stop();
    const down = await synchronize(aws, [source("empty"), ...args, "--output=json"]);
    strictEqual(down.code, 1, down.stderr);
    const doc = JSON.parse(down.stdout);
    strictEqual(doc.ok, false);
    strictEqual(doc.error.includes("ZooKeeper not reached yet"), true, doc.error);
    deepStrictEqual(doc.decisions, []);
    strictEqual(aws.calls.length, callsBefore);
    deepStrictEqual(aws.world.elbs.get("web"), ["i-1", "i-9"]);
  } finally {
    await zk.destroy();
  }
});

Deno.test("synchronize: static source into Route 53 and a target group; an AWS failure is exit 1, a usage error exit 2", async () => {
  await using aws = startAwsStandIn();
  ec2World(aws);
  aws.world.addZone("Z1", [
    {
      name: "proxy.example.com",
      type: "CNAME",
      setIdentifier: "old.example.com",
      weight: 1,
      ttl: 120,
      values: ["old.example.com"],
    },
  ]);
  const source = `--registration-source=${
    JSON.stringify({ source_class: "static", name: "proxy", host: PRIV2, port: 8080 })
  }`;
  const dns = [
    source,
    "--registration-class=tellapart.aurproxy.register.route53.Route53JobRegisterer",
    ...KEYS,
    "--registration-arg=domain=proxy.example.com",
    "--registration-arg=hosted_zone_id=Z1",
    "--registration-arg=ttl=60",
    "--registration-arg=remove_other_instances=true",
  ];
  const failing = aws.fault({ action: "ChangeResourceRecordSets", status: 500 });
  const failed = await synchronize(aws, [...dns, "--write"], { AWS_MAX_ATTEMPTS: "1" });
  strictEqual(failed.code, 1, failed.stderr);
  deepStrictEqual(failed.lines, [
    `target=proxy.example.com host=${PRIV2} action=REGISTER reasons=NOT_YET_REGISTERED write=TRUE result=failed error="InternalFailure: injected fault"`,
    'target=proxy.example.com host=old.example.com action=REMOVE reasons=ALREADY_REGISTERED,NO_CORRESPONDING_TASK write=TRUE result=skipped error="not removed: registering on this target failed"',
  ]);
  strictEqual(aws.callsOf("ChangeResourceRecordSets").length, 1, "AWS_MAX_ATTEMPTS honoured");
  strictEqual(aws.world.records("Z1", "proxy.example.com").length, 1);
  failing();
  const ok = await synchronize(aws, [...dns, "--write"]);
  strictEqual(ok.code, 0, ok.stderr);
  deepStrictEqual(aws.world.records("Z1", "proxy.example.com"), [
    {
      name: "proxy.example.com.",
      type: "CNAME",
      setIdentifier: PRIV2,
      weight: 1,
      ttl: 120,
      values: [PRIV2],
    },
  ]);

  const arn = aws.world.addTargetGroup("web", 80, [{ id: "i-9", port: 8080 }]);
  const tg = await synchronize(aws, [
    source,
    "--registration-class=ElbV2JobRegisterer",
    ...KEYS,
    `--registration-arg=target_group_arns=${arn}`,
    "--registration-arg=port=8080",
    "--registration-arg=remove_other_instances=false",
    "--write",
  ]);
  strictEqual(tg.code, 0, tg.stderr);
  deepStrictEqual(tg.lines, [
    `target=${arn} instance=i-2 port=8080 host=${PRIV2} action=REGISTER reasons=NOT_YET_REGISTERED write=TRUE result=ok`,
    `target=${arn} instance=i-9 port=8080 action=NONE reasons=REMOVE_OTHER_INSTANCE_FALSE write=TRUE result=ok`,
  ]);
  deepStrictEqual(aws.world.targetGroups.get(arn)?.targets.map((t) => `${t.id}:${t.port}`), [
    "i-9:8080",
    "i-2:8080",
  ]);

  const before = aws.calls.length;
  const usage = await synchronize(aws, [
    ...dns,
    "--registration-arg=bogus=1",
    "--registration-class=ElbSelfRegisterer",
  ]);
  strictEqual(usage.code, 2);
  strictEqual(
    usage.stderr.includes(
      "aurproxy synchronize: --registration-class: ElbSelfRegisterer is a self registerer",
    ),
    true,
    usage.stderr,
  );
  const unknown = await synchronize(aws, [...dns, "--registration-arg=bogus=1"]);
  strictEqual(unknown.code, 2);
  strictEqual(
    unknown.stderr.trim(),
    "aurproxy synchronize: --registration-arg bogus: unknown argument for Route53JobRegisterer; known: " +
      "region, access_key, secret_key, access_key_path, secret_key_path, domain, hosted_zone_id, ttl, remove_other_instances",
  );
  strictEqual(aws.calls.length, before);
});
