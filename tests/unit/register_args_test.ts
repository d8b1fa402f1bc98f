import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { UsageError, UsageErrors } from "../../lib/errors.ts";
import { parseRegistrationArgs } from "../../lib/register/args.ts";
import { explicitCredentials } from "../../lib/register/aws.ts";
import { registererKind } from "../../lib/register/kinds.ts";

const messages = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageErrors) return e.errors.map((x) => x.message);
    if (e instanceof UsageError) return [e.message];
    throw e;
  }
  throw new Error("no error");
};

Deno.test("registerer kinds: the original's class paths, short names and bare class names", () => {
  for (
    const [name, kind] of [
      ["tellapart.aurproxy.register.elb.ElbSelfRegisterer", "elb_self"],
      ["tellapart.aurproxy.register.route53.Route53SelfRegisterer", "route53_self"],
      ["tellapart.aurproxy.register.elbv2.ElbV2SelfRegisterer", "elbv2_self"],
      ["ElbSelfRegisterer", "elb_self"],
      ["route53_self", "route53_self"],
      ["elb.ElbSelfRegisterer", "elb_self"],
    ]
  ) strictEqual(registererKind(name, "self").kind, kind, name);
  for (
    const [name, kind] of [
      ["tellapart.aurproxy.register.elb.ElbJobRegisterer", "elb_job"],
      ["tellapart.aurproxy.register.route53.Route53JobRegisterer", "route53_job"],
      ["tellapart.aurproxy.register.elbv2.ElbV2JobRegisterer", "elbv2_job"],
      ["elb_job", "elb_job"],
    ]
  ) strictEqual(registererKind(name, "job").kind, kind, name);
});

Deno.test("registerer kinds: a class of the wrong role or an unknown one is a usage error on the flag", () => {
  deepStrictEqual(messages(() => registererKind("ElbJobRegisterer", "self")), [
    "--registration-class: ElbJobRegisterer is a job registerer; run registers this aurproxy: it " +
    "needs a self registerer (tellapart.aurproxy.register.elb.ElbSelfRegisterer, " +
    "tellapart.aurproxy.register.route53.Route53SelfRegisterer, " +
    "tellapart.aurproxy.register.elbv2.ElbV2SelfRegisterer)",
  ]);
  const [m] = messages(() =>
    registererKind("tellapart.aurproxy.register.elb.ElbJobRegistrer", "job")
  );
  strictEqual(
    m.startsWith(
      '--registration-class: unknown class "tellapart.aurproxy.register.elb.ElbJobRegistrer" ' +
        '(did you mean "tellapart.aurproxy.register.elb.ElbJobRegisterer"?); known: elb_job (',
    ),
    true,
    m,
  );
});

Deno.test("registration args: the original's arguments, checked and typed", () => {
  const elb = parseRegistrationArgs(registererKind("ElbJobRegisterer", "job"), [
    "region=us-east-1",
    "elb_names=web, api",
    "remove_other_instances=True",
  ]);
  deepStrictEqual(elb.target, { service: "elb", elbNames: ["web", "api"] });
  strictEqual(elb.removeOtherInstances, true);
  strictEqual(elb.credentials, undefined);
  const dns = parseRegistrationArgs(registererKind("Route53SelfRegisterer", "self"), [
    "region=us-east-1",
    "domain=MyProxy.example.com.",
    "hosted_zone_id=/hostedzone/Z1D633PJN98FT9",
    "ttl=60",
    "access_key=AKID",
    "secret_key=SECRET",
  ]);
  deepStrictEqual(dns.target, {
    service: "route53",
    domain: "myproxy.example.com",
    hostedZoneId: "Z1D633PJN98FT9",
    ttl: 60,
  });
  deepStrictEqual(dns.credentials, { accessKeyId: "AKID", secretAccessKey: "SECRET" });
  const arn =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";
  const tg = parseRegistrationArgs(registererKind("ElbV2JobRegisterer", "job"), [
    "region=eu-west-1",
    `target_group_arns=${arn}`,
    "port=8080",
    "remove_other_instances=false",
  ]);
  deepStrictEqual(tg.target, { service: "elbv2", targetGroupArns: [arn], port: 8080 });
  strictEqual(tg.removeOtherInstances, false);
});

Deno.test("registration args: every problem at once, each naming the argument", () => {
  deepStrictEqual(
    messages(() =>
      parseRegistrationArgs(registererKind("Route53JobRegisterer", "job"), [
        "region=us-east-1",
        "domian=x.example.com",
        "ttl=sixty",
        "hosted_zone_id=Z1",
        "remove_other_instances=yes",
        "novalue",
      ])
    ),
    [
      "--registration-arg domian: unknown argument for Route53JobRegisterer (did you mean domain?); " +
      "known: region, access_key, secret_key, access_key_path, secret_key_path, domain, " +
      "hosted_zone_id, ttl, remove_other_instances",
      "--registration-arg: expected key=value, got novalue",
      "--registration-arg domain: required by Route53JobRegisterer",
      "--registration-arg ttl: expected an integer 0-2147483647, got sixty",
      // The original read anything but true/True as false: refused, not guessed.
      "--registration-arg remove_other_instances: expected true or false, got yes",
    ],
  );
  deepStrictEqual(
    messages(() =>
      parseRegistrationArgs(registererKind("ElbSelfRegisterer", "self"), ["elb_names=a,,b"])
    ),
    [
      "--registration-arg region: required by ElbSelfRegisterer",
      "--registration-arg elb_names: expected a comma-separated list of ELB names, got a,,b",
    ],
  );
  deepStrictEqual(
    messages(() =>
      parseRegistrationArgs(registererKind("ElbV2SelfRegisterer", "self"), [
        "region=us-east-1",
        "target_group_arns=web",
        "port=0",
      ])
    ),
    [
      "--registration-arg target_group_arns: not a target group ARN: web",
      "--registration-arg port: expected an integer 1-65535, got 0",
    ],
  );
});

Deno.test("registration args: an argument given twice keeps the last value, with a warning", () => {
  const a = parseRegistrationArgs(registererKind("ElbSelfRegisterer", "self"), [
    "region=us-east-1",
    "elb_names=a",
    "elb_names=b",
  ]);
  deepStrictEqual(a.target, { service: "elb", elbNames: ["b"] });
  deepStrictEqual(a.warnings, ["registration argument elb_names given twice"]);
});

Deno.test("credentials: key files (trailing white space stripped), an explicit key wins over its file", () => {
  const files: Record<string, string> = { "/k": "AKIDFILE\n", "/s": "secretfile \n" };
  const read = (p: string) => {
    if (!(p in files)) throw new Deno.errors.NotFound(p);
    return files[p];
  };
  deepStrictEqual(explicitCredentials({ access_key_path: "/k", secret_key_path: "/s" }, read), {
    accessKeyId: "AKIDFILE",
    secretAccessKey: "secretfile",
  });
  deepStrictEqual(
    explicitCredentials(
      { access_key: "AKID", access_key_path: "/nope", secret_key_path: "/s" },
      read,
    ),
    { accessKeyId: "AKID", secretAccessKey: "secretfile" },
  );
  strictEqual(explicitCredentials({}, read), undefined);
  throws(
    () => explicitCredentials({ access_key_path: "/missing", secret_key: "x" }, read),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === "--registration-arg access_key_path: cannot read /missing: no such file",
  );
  throws(
    () => explicitCredentials({ access_key: "AKID" }, read),
    (e: unknown) => e instanceof UsageError && e.path === "--registration-arg secret_key",
  );
});
