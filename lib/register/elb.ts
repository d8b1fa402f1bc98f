/**
 * Classic Elastic Load Balancers as a {@linkcode TargetService}: each ELB in `elb_names`
 * is a target, its members are EC2 instance ids (`DescribeLoadBalancers`,
 * `RegisterInstancesWithLoadBalancer`, `DeregisterInstancesFromLoadBalancer`).
 *
 * @module
 */

import {
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingClient,
  RegisterInstancesWithLoadBalancerCommand,
} from "@aws-sdk/client-elastic-load-balancing";
import type { Member, TargetService, TargetState } from "./registerer.ts";

/** The part of the ELB client used here. */
export type ElbSender = Pick<ElasticLoadBalancingClient, "send">;

/** DescribeLoadBalancers takes at most 20 names per call. */
const NAMES_PER_CALL = 20;

/** A member for an instance id. */
export function instanceMember(id: string, host?: string): Member {
  return { key: id, instance: id, ...(host ? { host } : {}) };
}

/**
 * @example
 * ```ts
 * import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
 * import { type AwsSettings, clientConfig } from "./aws.ts";
 *
 * // Calls AWS: declared here, not run.
 * async function members(settings: AwsSettings) {
 *   const elb = new ElbService(new ElasticLoadBalancingClient(clientConfig(settings)), ["web"]);
 *   return (await elb.read())[0].members; // [{ key: "i-0abc", instance: "i-0abc" }]
 * }
 * ```
 */
export class ElbService implements TargetService {
  readonly service = "elb";
  readonly targets: readonly string[];
  readonly #client: ElbSender;

  constructor(client: ElbSender, elbNames: readonly string[]) {
    this.#client = client;
    this.targets = elbNames;
  }

  async read(signal?: AbortSignal): Promise<TargetState[]> {
    const found = new Map<string, Member[]>();
    for (let i = 0; i < this.targets.length; i += NAMES_PER_CALL) {
      const out = await this.#client.send(
        new DescribeLoadBalancersCommand({
          LoadBalancerNames: this.targets.slice(i, i + NAMES_PER_CALL) as string[],
        }),
        { abortSignal: signal },
      );
      for (const lb of out.LoadBalancerDescriptions ?? []) {
        if (!lb.LoadBalancerName) continue;
        const ids = (lb.Instances ?? []).map((x) => x.InstanceId).filter((x): x is string => !!x);
        found.set(lb.LoadBalancerName.toLowerCase(), ids.map((id) => instanceMember(id)));
      }
    }
    return this.targets.map((name) => {
      const members = found.get(name.toLowerCase());
      // AWS answers LoadBalancerNotFound itself; an answer without the name is as bad.
      if (!members) throw new Error(`ELB ${name} not found`);
      return { target: name, members, conflicts: new Map() };
    });
  }

  async add(state: TargetState, members: readonly Member[], signal?: AbortSignal): Promise<void> {
    if (!members.length) return;
    await this.#client.send(
      new RegisterInstancesWithLoadBalancerCommand({
        LoadBalancerName: state.target,
        Instances: members.map((m) => ({ InstanceId: m.instance })),
      }),
      { abortSignal: signal },
    );
  }

  async remove(
    state: TargetState,
    members: readonly Member[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (!members.length) return;
    await this.#client.send(
      new DeregisterInstancesFromLoadBalancerCommand({
        LoadBalancerName: state.target,
        Instances: members.map((m) => ({ InstanceId: m.instance })),
      }),
      { abortSignal: signal },
    );
  }
}
