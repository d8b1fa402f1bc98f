/**
 * `--registration-arg k=v` lists, checked against the registerer kind: the original's
 * argument names (`region`, `elb_names`, `domain`, `hosted_zone_id`, `ttl`,
 * `remove_other_instances`, `access_key`, `secret_key`, `access_key_path`,
 * `secret_key_path`), plus `target_group_arns` and `port` for ELBv2.
 *
 * Every problem (an item without `=`, an unknown or missing argument, a bad value) is a
 * usage error naming the argument, all reported at once. Decisions:
 * - `remove_other_instances` is true for `true`/`True` and false for `false`/`False`, as
 *   the original read it; any other value is refused rather than read as false, so a
 *   `=1` or `=yes` written for another tool cannot silently mean "keep".
 * - An argument given twice keeps the last value, as the original did, with a warning.
 * - The credential arguments are accepted by every kind (the original took the key files
 *   for `ElbJobRegisterer` only).
 * - `hosted_zone_id` may be given as `/hostedzone/Z123`, as AWS prints it.
 * - Values are checked for their shape, not only their presence: a region, ELB name, zone
 *   id or ARN is made of the characters AWS uses (a region names the endpoint's host, so
 *   `us-east-1.evil.example` must not pass), a domain is a DNS name and not an address,
 *   keys are printable ASCII on one line. A secret key is never quoted in an error.
 *
 * @module
 */

import { UsageError, UsageErrors } from "../errors.ts";
import { isIpLiteral, isValidHost } from "../model/endpoint.ts";
import { suggest } from "../text/suggest.ts";
import { type AwsCredentials, explicitCredentials } from "./aws.ts";
import type { RegistererKind } from "./kinds.ts";

/** What a registerer targets, by service. */
export type TargetArgs =
  | { readonly service: "elb"; readonly elbNames: readonly string[] }
  | {
    readonly service: "elbv2";
    readonly targetGroupArns: readonly string[];
    /** Port to register the instance on; default the target group's. */
    readonly port?: number;
  }
  | {
    readonly service: "route53";
    readonly domain: string;
    readonly hostedZoneId: string;
    /** TTL of new records when the record set has none yet. */
    readonly ttl: number;
  };

/** Checked arguments of one registerer. */
export interface RegistrationArgs {
  readonly kind: RegistererKind;
  readonly region: string;
  /** Explicit keys, or undefined for the SDK's default provider chain. */
  readonly credentials?: AwsCredentials;
  readonly target: TargetArgs;
  /** `remove_other_instances` (job registerers); false for self registerers. */
  readonly removeOtherInstances: boolean;
  /** Harmless oddities to log (an argument given twice). */
  readonly warnings: readonly string[];
}

type Check = (v: string) => string | undefined;

interface ArgSpec {
  readonly required: boolean;
  readonly check?: Check;
}

const REGION = /^[a-z0-9][a-z0-9-]*$/;
const ELB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/;
const ZONE_ID = /^[A-Za-z0-9]+$/;
const ARN =
  /^arn:[a-z0-9-]+:elasticloadbalancing:[a-z0-9-]*:[0-9]*:targetgroup\/[A-Za-z0-9-]+\/[0-9a-z]+$/;
/** Keys go into a header (the access key id into its `Credential=.../...` part). */
const PRINTABLE = /^[\x21-\x7e]+$/;

const list = (what: string, one: string, valid: (s: string) => boolean): Check => (v) => {
  const items = v.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) return `expected a comma-separated list of ${what}, got ${v}`;
  const bad = items.find((s) => !valid(s));
  return bad === undefined ? undefined : `not ${one}: ${bad}`;
};

const integer = (min: number, max: number): Check => (v) =>
  /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max
    ? undefined
    : `expected an integer ${min}-${max}, got ${v}`;

const TRUE = ["true", "True"];
const FALSE = ["false", "False"];

const COMMON: Record<string, ArgSpec> = {
  region: {
    required: true,
    check: (v) => REGION.test(v) ? undefined : `expected an AWS region such as us-east-1, got ${v}`,
  },
  access_key: {
    required: false,
    check: (v) =>
      PRINTABLE.test(v) && !/[/,=]/.test(v)
        ? undefined
        : "expected an access key id: printable ASCII without spaces, / , or =",
  },
  secret_key: {
    required: false,
    // Never quote a secret in an error: it would land in logs and job output.
    check: (v) =>
      PRINTABLE.test(v) ? undefined : "expected printable ASCII without spaces (value not shown)",
  },
  access_key_path: { required: false },
  secret_key_path: { required: false },
};

const BY_SERVICE: Record<RegistererKind["service"], Record<string, ArgSpec>> = {
  elb: {
    elb_names: { required: true, check: list("ELB names", "an ELB name", (s) => ELB_NAME.test(s)) },
  },
  elbv2: {
    target_group_arns: {
      required: true,
      check: list("target group ARNs", "a target group ARN", (s) => ARN.test(s)),
    },
    port: { required: false, check: integer(1, 65535) },
  },
  route53: {
    domain: {
      required: true,
      check: (v) => isValidHost(v) && !isIpLiteral(v) ? undefined : `not a DNS name: ${v}`,
    },
    hosted_zone_id: {
      required: true,
      check: (v) =>
        ZONE_ID.test(v.replace(/^\/?hostedzone\//, ""))
          ? undefined
          : `expected a hosted zone id such as Z1D633PJN98FT9, got ${v}`,
    },
    ttl: { required: true, check: integer(0, 2147483647) },
  },
};

const JOB: Record<string, ArgSpec> = {
  remove_other_instances: {
    required: true,
    check: (v) =>
      TRUE.includes(v) || FALSE.includes(v) ? undefined : `expected true or false, got ${v}`,
  },
};

/** The arguments a kind takes, with whether each is required. */
export function argumentsOf(kind: RegistererKind): Readonly<Record<string, ArgSpec>> {
  return { ...COMMON, ...BY_SERVICE[kind.service], ...(kind.role === "job" ? JOB : {}) };
}

function className(kind: RegistererKind): string {
  return kind.canonical.slice(kind.canonical.lastIndexOf(".") + 1);
}

/**
 * Parses and checks `--registration-arg` values for `kind`. Throws {@linkcode UsageErrors}
 * listing every problem, each naming the argument.
 *
 * @example
 * ```ts
 * import { registererKind } from "./kinds.ts";
 *
 * const kind = registererKind("tellapart.aurproxy.register.elb.ElbSelfRegisterer", "self");
 * parseRegistrationArgs(kind, ["region=us-east-1", "elb_names=web,api"]).target;
 * // { service: "elb", elbNames: ["web", "api"] }
 * ```
 */
export function parseRegistrationArgs(
  kind: RegistererKind,
  items: readonly string[],
  readTextFile?: (path: string) => string,
): RegistrationArgs {
  const specs = argumentsOf(kind);
  const errors: UsageError[] = [];
  const warnings: string[] = [];
  const values: Record<string, string> = {};
  const cls = className(kind);
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      errors.push(new UsageError("--registration-arg", `expected key=value, got ${item}`));
      continue;
    }
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (!Object.hasOwn(specs, key)) {
      const hint = suggest(key, Object.keys(specs));
      errors.push(
        new UsageError(
          `--registration-arg ${key}`,
          `unknown argument for ${cls}${hint ? ` (did you mean ${hint}?)` : ""}; known: ${
            Object.keys(specs).join(", ")
          }`,
        ),
      );
      continue;
    }
    if (Object.hasOwn(values, key)) warnings.push(`registration argument ${key} given twice`);
    values[key] = value;
  }
  for (const [key, spec] of Object.entries(specs)) {
    const v = values[key];
    if (v === undefined) {
      if (spec.required) {
        errors.push(new UsageError(`--registration-arg ${key}`, `required by ${cls}`));
      }
      continue;
    }
    const bad = v === "" ? "expected a value" : spec.check?.(v);
    if (bad) errors.push(new UsageError(`--registration-arg ${key}`, bad));
  }
  let credentials: AwsCredentials | undefined;
  if (!errors.length) {
    try {
      credentials = explicitCredentials(values, readTextFile);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      errors.push(err);
    }
  }
  if (errors.length) throw new UsageErrors(errors);
  const names = (v: string) => v.split(",").map((s) => s.trim());
  const target: TargetArgs = kind.service === "elb"
    ? { service: "elb", elbNames: names(values.elb_names) }
    : kind.service === "elbv2"
    ? {
      service: "elbv2",
      targetGroupArns: names(values.target_group_arns),
      port: values.port === undefined ? undefined : Number(values.port),
    }
    : {
      service: "route53",
      domain: values.domain.replace(/\.$/, "").toLowerCase(),
      hostedZoneId: values.hosted_zone_id.replace(/^\/?hostedzone\//, ""),
      ttl: Number(values.ttl),
    };
  return {
    kind,
    region: values.region,
    credentials,
    target,
    removeOtherInstances: TRUE.includes(values.remove_other_instances ?? ""),
    warnings,
  };
}
