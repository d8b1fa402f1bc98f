/**
 * The table of registerer kinds: every class path of the original (and the ELBv2 ones
 * added here) with its short names, whether it registers this aurproxy (`run`) or a whole
 * job (`synchronize`), the AWS service it speaks to, and the arguments it takes.
 *
 * @module
 */

import { resolveClass } from "../config/kind.ts";
import { UsageError } from "../errors.ts";

/** The kinds, by short name. */
export type RegistererKindId =
  | "elb_self"
  | "elb_job"
  | "route53_self"
  | "route53_job"
  | "elbv2_self"
  | "elbv2_job";

/** `self`: this aurproxy, by `run`. `job`: a source's hosts, by `synchronize`. */
export type RegistererRole = "self" | "job";

/** The AWS service a kind registers with. */
export type RegistrationService = "elb" | "elbv2" | "route53";

/** One registerer kind. */
export interface RegistererKind {
  readonly kind: RegistererKindId;
  /** The original's class path, shown in "known classes" lists. */
  readonly canonical: string;
  /** Every other spelling that names it; the first is the short name. */
  readonly aliases: readonly string[];
  readonly supported: boolean;
  readonly role: RegistererRole;
  readonly service: RegistrationService;
}

const PKG = "tellapart.aurproxy.register";

function kind(
  id: RegistererKindId,
  module: string,
  className: string,
  role: RegistererRole,
  service: RegistrationService,
): RegistererKind {
  return {
    kind: id,
    canonical: `${PKG}.${module}.${className}`,
    aliases: [id, className, `${module}.${className}`],
    supported: true,
    role,
    service,
  };
}

/**
 * Every kind. The original's four class paths, plus `ElbV2SelfRegisterer` and
 * `ElbV2JobRegisterer` for ALB/NLB target groups, named the same way.
 *
 * @example
 * ```ts
 * REGISTERER_KINDS.find((k) => k.kind === "elb_self")?.canonical;
 * // "tellapart.aurproxy.register.elb.ElbSelfRegisterer"
 * ```
 */
export const REGISTERER_KINDS: readonly RegistererKind[] = Object.freeze([
  kind("elb_self", "elb", "ElbSelfRegisterer", "self", "elb"),
  kind("route53_self", "route53", "Route53SelfRegisterer", "self", "route53"),
  kind("elbv2_self", "elbv2", "ElbV2SelfRegisterer", "self", "elbv2"),
  kind("elb_job", "elb", "ElbJobRegisterer", "job", "elb"),
  kind("route53_job", "route53", "Route53JobRegisterer", "job", "route53"),
  kind("elbv2_job", "elbv2", "ElbV2JobRegisterer", "job", "elbv2"),
]);

/**
 * The kind `--registration-class` names, for `role`. A class of the other role (a job
 * registerer given to `run`) or an unknown one is a usage error naming the flag and
 * listing the classes that fit.
 *
 * @example
 * ```ts
 * registererKind("tellapart.aurproxy.register.route53.Route53JobRegisterer", "job").service;
 * // "route53"
 * ```
 */
export function registererKind(name: string, role: RegistererRole): RegistererKind {
  const fitting = REGISTERER_KINDS.filter((k) => k.role === role);
  const r = resolveClass(fitting, name);
  if (r.ok) return r.entry;
  const other = REGISTERER_KINDS.find((k) =>
    k.role !== role && (k.canonical === name || k.aliases.includes(name))
  );
  if (other) {
    const needs = role === "self"
      ? "run registers this aurproxy: it needs a self registerer"
      : "synchronize registers a source's hosts: it needs a job registerer";
    const known = fitting.map((k) => k.canonical).join(", ");
    throw new UsageError(
      "--registration-class",
      `${name} is a ${other.role} registerer; ${needs} (${known})`,
    );
  }
  throw new UsageError("--registration-class", r.reason);
}
