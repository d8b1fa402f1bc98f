import { deepStrictEqual, strictEqual } from "node:assert";
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
  return [];
};

const ELB = registererKind("ElbSelfRegisterer", "self");
const DNS = registererKind("Route53SelfRegisterer", "self");
const TG = registererKind("ElbV2SelfRegisterer", "self");
const ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";

/** The problems with one hostile value, the others good. */
function problems(kind: typeof ELB, good: Record<string, string>, key: string, value: string) {
  const args = Object.entries({ ...good, [key]: value }).map(([k, v]) => `${k}=${v}`);
  return messages(() => parseRegistrationArgs(kind, args));
}

Deno.test("hostile registration args: each refused, naming the argument", () => {
  const elb = { region: "us-east-1", elb_names: "web" };
  const dns = { region: "us-east-1", domain: "proxy.example.com", hosted_zone_id: "Z1", ttl: "60" };
  const tg = { region: "us-east-1", target_group_arns: ARN };
  const cases: [typeof ELB, Record<string, string>, string, string][] = [
    // The region names the endpoint's host: elasticloadbalancing.<region>.amazonaws.com.
    [ELB, elb, "region", "us-east-1.evil.example"],
    [ELB, elb, "region", "us-east-1/../../x"],
    [ELB, elb, "region", "us-east-1#"],
    [ELB, elb, "region", "US-EAST-1"],
    [ELB, elb, "elb_names", "web;rm -rf /"],
    [ELB, elb, "elb_names", "web api"],
    [ELB, elb, "elb_names", "web\napi"],
    [ELB, elb, "elb_names", "-web"],
    [ELB, elb, "elb_names", "a".repeat(33)],
    [ELB, elb, "elb_names", "web,<script>"],
    [DNS, dns, "domain", "::1"],
    [DNS, dns, "domain", "10.0.0.1"],
    [DNS, dns, "domain", "proxy example.com"],
    [DNS, dns, "domain", "$(reboot).example.com"],
    [DNS, dns, "domain", "*.example.com"],
    [DNS, dns, "domain", "proxy.example.com;"],
    [DNS, dns, "hosted_zone_id", "Z1/../../x"],
    [DNS, dns, "hosted_zone_id", "Z1?maxitems=1"],
    [DNS, dns, "hosted_zone_id", "/hostedzone/"],
    [DNS, dns, "ttl", "-1"],
    [DNS, dns, "ttl", "1e3"],
    [DNS, dns, "ttl", "0x10"],
    [DNS, dns, "ttl", "99999999999"],
    [TG, tg, "port", "65536"],
    [TG, tg, "port", "+80"],
    [TG, tg, "port", "80abc"],
    [TG, tg, "target_group_arns", "arn:aws:iam::123456789012:role/admin"],
    [TG, tg, "target_group_arns", `${ARN}/../x`],
    [TG, tg, "target_group_arns", `${ARN}\u0007`],
    [TG, tg, "target_group_arns", `${ARN}?Action=DeleteTargetGroup`],
    [ELB, elb, "access_key", "AKID X"],
    [ELB, elb, "access_key", "AKID\r\nX-Injected: 1"],
    [ELB, elb, "access_key", "AKID/20240101/us-east-1"],
  ];
  for (const [kind, good, key, value] of cases) {
    const got = problems(kind, { ...good, secret_key: "s3cr3t" }, key, value);
    strictEqual(got.length, 1, `${key}=${JSON.stringify(value)}: ${got.join(" | ")}`);
    strictEqual(
      got[0].startsWith(`--registration-arg ${key}: `),
      true,
      `${key}=${JSON.stringify(value)}: ${got[0]}`,
    );
  }
  // And the good values pass.
  deepStrictEqual(problems(ELB, elb, "region", "us-gov-west-1"), []);
  deepStrictEqual(problems(DNS, dns, "domain", "Proxy.Example.COM."), []);
  deepStrictEqual(problems(TG, tg, "port", "8080"), []);
});

Deno.test("hostile registration args: a secret key is never quoted in an error", () => {
  for (const secret of ["sec ret", "line1\nline2", "tab\there"]) {
    const got = messages(() =>
      parseRegistrationArgs(ELB, [
        "region=us-east-1",
        "elb_names=web",
        "access_key=AKID",
        `secret_key=${secret}`,
      ])
    );
    deepStrictEqual(got, [
      "--registration-arg secret_key: expected printable ASCII without spaces (value not shown)",
    ]);
  }
});

Deno.test("hostile registration args: odd keys are unknown arguments, not object properties", () => {
  for (const key of ["__proto__", "constructor", "toString", "ELB_NAMES", " elb_names "]) {
    const got = messages(() =>
      parseRegistrationArgs(ELB, ["region=us-east-1", "elb_names=web", `${key}=x`])
    );
    strictEqual(got.length, key.trim() === "elb_names" ? 0 : 1, `${key}: ${got}`);
    if (got.length) strictEqual(got[0].includes("unknown argument for ElbSelfRegisterer"), true);
  }
  deepStrictEqual(messages(() => parseRegistrationArgs(ELB, ["=web"])).slice(0, 1), [
    "--registration-arg: expected key=value, got =web",
  ]);
});

Deno.test("hostile key files: several lines or words are refused without quoting them", () => {
  const files: Record<string, string> = {
    "/two-lines": "AKID\nAKID2\n",
    "/spaced": "  s3cr3t with space  \n",
    "/padded": "\n  AKIDPADDED \t\n",
    "/slash": "AKID/x",
  };
  const read = (p: string) => files[p];
  deepStrictEqual(
    messages(() => explicitCredentials({ access_key_path: "/two-lines", secret_key: "s" }, read)),
    [
      "--registration-arg access_key_path: /two-lines does not hold one key on one line " +
      "(printable ASCII, no spaces)",
    ],
  );
  const spaced = messages(() =>
    explicitCredentials({ access_key: "AKID", secret_key_path: "/spaced" }, read)
  );
  strictEqual(spaced.length, 1);
  strictEqual(spaced[0].includes("s3cr3t"), false, spaced[0]);
  deepStrictEqual(
    messages(() => explicitCredentials({ access_key_path: "/slash", secret_key: "s" }, read))
      .length,
    1,
  );
  // White space around one key is only formatting.
  deepStrictEqual(explicitCredentials({ access_key_path: "/padded", secret_key: "s" }, read), {
    accessKeyId: "AKIDPADDED",
    secretAccessKey: "s",
  });
});
