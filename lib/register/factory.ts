/**
 * Builds registerers from checked arguments: the real SDK v3 clients for the kind's
 * service (and EC2 for the instance lookups of the ELB job registerers), this instance's
 * identity from instance metadata.
 *
 * @module
 */

import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { Route53Client } from "@aws-sdk/client-route-53";
import type { Logger } from "../log.ts";
import type { RegistrationArgs } from "./args.ts";
import { type AwsSettings, clientConfig } from "./aws.ts";
import { findInstances } from "./ec2_instances.ts";
import { ElbService, instanceMember } from "./elb.ts";
import { ElbV2Service, targetMember } from "./elbv2.ts";
import { instanceIdOf, InstanceMetadata, publicHostnameOf } from "./instance_metadata.ts";
import { type JobRegisterer, type ResolveMembers, ServiceJobRegisterer } from "./job_registerer.ts";
import {
  type Member,
  RegistrationError,
  type SelfRegisterer,
  type TargetService,
} from "./registerer.ts";
import { hostMember, Route53Service } from "./route53.ts";
import { type Identify, ServiceSelfRegisterer } from "./self_registerer.ts";

/** What building a registerer needs besides its arguments. */
export interface RegistererDeps {
  readonly logger: Logger;
  /** Instance metadata; default one reading the environment's endpoint. */
  readonly metadata?: InstanceMetadata;
  /** Time bounds and attempts of the AWS clients (region and keys come from the args). */
  readonly aws?: Omit<AwsSettings, "region" | "credentials">;
}

interface Built {
  readonly service: TargetService;
  /** Instance id or public host name of this instance, from metadata. */
  readonly identify: Identify;
  readonly resolve: ResolveMembers;
  readonly close: () => void;
}

function build(args: RegistrationArgs, deps: RegistererDeps): Built {
  const settings: AwsSettings = {
    ...deps.aws,
    region: args.region,
    credentials: args.credentials,
  };
  const config = clientConfig(settings);
  const metadata = deps.metadata ?? new InstanceMetadata();
  const t = args.target;
  const clients: { destroy(): void }[] = [];
  const client = <C extends { destroy(): void }>(c: C): C => {
    clients.push(c);
    return c;
  };
  const close = () => clients.forEach((c) => c.destroy());
  let ec2: EC2Client | undefined;
  const instancesOf = async (
    hosts: readonly string[],
    member: (id: string, host: string) => Member,
    signal?: AbortSignal,
  ): Promise<Member[]> => {
    ec2 ??= client(new EC2Client(config));
    const m = await findInstances(ec2, hosts, signal);
    const problems = [
      ...(m.missing.length
        ? [
          `no pending or running EC2 instance has the public DNS name, private DNS name or IP of ${
            m.missing.join(", ")
          }`,
        ]
        : []),
      ...[...m.ambiguous].map(([h, ids]) => `${h} names several instances: ${ids.join(", ")}`),
    ];
    if (problems.length) throw new RegistrationError(`${problems.join("; ")}: nothing changed`);
    const byHost = new Map(hosts.map((h) => [h.toLowerCase().replace(/\.$/, ""), h]));
    return [...m.found].map(([h, id]) => member(id, byHost.get(h) ?? h));
  };
  const instanceId = (signal?: AbortSignal) => instanceIdOf(metadata, signal);
  switch (t.service) {
    case "elb":
      return {
        service: new ElbService(client(new ElasticLoadBalancingClient(config)), t.elbNames),
        identify: async (signal) => instanceMember(await instanceId(signal)),
        resolve: (hosts, signal) => instancesOf(hosts, (id, h) => instanceMember(id, h), signal),
        close,
      };
    case "elbv2":
      return {
        service: new ElbV2Service(
          client(new ElasticLoadBalancingV2Client(config)),
          t.targetGroupArns,
          t.port,
        ),
        identify: async (signal) => targetMember(await instanceId(signal), t.port),
        resolve: (hosts, signal) =>
          instancesOf(hosts, (id, h) => targetMember(id, t.port, h), signal),
        close,
      };
    case "route53":
      return {
        service: new Route53Service(client(new Route53Client(config)), t, deps.logger),
        identify: async (signal) => hostMember(await publicHostnameOf(metadata, signal)),
        resolve: (hosts) => Promise.resolve(hosts.map(hostMember)),
        close,
      };
  }
}

/**
 * A self registerer (for `run`) from checked arguments of a `self` kind.
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { parseRegistrationArgs } from "./args.ts";
 * import { registererKind } from "./kinds.ts";
 *
 * const kind = registererKind("tellapart.aurproxy.register.elb.ElbSelfRegisterer", "self");
 * const args = parseRegistrationArgs(kind, ["region=us-east-1", "elb_names=web"]);
 * const self = createSelfRegisterer(args, { logger: memoryLogger() });
 * self.description; // "elb web"; register() would call AWS
 * self.close();
 * ```
 */
export function createSelfRegisterer(args: RegistrationArgs, deps: RegistererDeps): SelfRegisterer {
  const b = build(args, deps);
  return new ServiceSelfRegisterer(b.service, b.identify, deps.logger, b.close);
}

/**
 * A job registerer (for `synchronize`) from checked arguments of a `job` kind.
 *
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { parseRegistrationArgs } from "./args.ts";
 * import { registererKind } from "./kinds.ts";
 *
 * const kind = registererKind("tellapart.aurproxy.register.elb.ElbJobRegisterer", "job");
 * const args = parseRegistrationArgs(kind, ["region=us-east-1", "elb_names=web", "remove_other_instances=false"]);
 * const job = createJobRegisterer(args, { logger: memoryLogger() });
 * job.description; // "elb web"; synchronize() would call AWS
 * job.close();
 * ```
 */
export function createJobRegisterer(args: RegistrationArgs, deps: RegistererDeps): JobRegisterer {
  const b = build(args, deps);
  return new ServiceJobRegisterer(
    b.service,
    b.resolve,
    args.removeOtherInstances,
    deps.logger,
    b.close,
  );
}
