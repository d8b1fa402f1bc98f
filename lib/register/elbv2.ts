/**
 * ELBv2 target groups (ALB, NLB) as a {@linkcode TargetService}: each ARN in
 * `target_group_arns` is a target, its members are instance targets
 * (`DescribeTargetHealth`, `RegisterTargets`, `DeregisterTargets`).
 *
 * With `port`, a member is an instance on that port (`i-0abc:8080`), and the same instance
 * on another port is another member. Without it, a member is an instance on whatever port
 * (registered with the target group's default port). Targets already `draining` count as
 * gone: they are being deregistered.
 *
 * @module
 */

import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Member, TargetService, TargetState } from "./registerer.ts";

/** The part of the ELBv2 client used here. */
export type ElbV2Sender = Pick<ElasticLoadBalancingV2Client, "send">;

/** A member for an instance (on `port`, when one is configured). */
export function targetMember(id: string, port: number | undefined, host?: string): Member {
  return {
    key: port === undefined ? id : `${id}:${port}`,
    instance: id,
    ...(port === undefined ? {} : { port }),
    ...(host ? { host } : {}),
  };
}

/**
 * @example
 * ```ts
 * import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
 * import { clientConfig } from "./aws.ts";
 *
 * const client = new ElasticLoadBalancingV2Client(clientConfig({ region: "us-east-1" }));
 * const arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef";
 * const tgs = new ElbV2Service(client, [arn], 8080);
 * tgs.targets; // [arn]; tgs.read() would call AWS
 * client.destroy();
 * ```
 */
export class ElbV2Service implements TargetService {
  readonly service = "elbv2";
  readonly targets: readonly string[];
  readonly #client: ElbV2Sender;
  readonly #port?: number;

  constructor(client: ElbV2Sender, targetGroupArns: readonly string[], port?: number) {
    this.#client = client;
    this.targets = targetGroupArns;
    this.#port = port;
  }

  async read(signal?: AbortSignal): Promise<TargetState[]> {
    const states: TargetState[] = [];
    for (const arn of this.targets) {
      const out = await this.#client.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: arn }),
        { abortSignal: signal },
      );
      const members: Member[] = [];
      for (const d of out.TargetHealthDescriptions ?? []) {
        const id = d.Target?.Id;
        if (!id || d.TargetHealth?.State === "draining") continue;
        const m = targetMember(id, this.#port === undefined ? undefined : d.Target?.Port);
        // Keep the registered port even when members compare by instance only.
        members.push(d.Target?.Port === undefined ? m : { ...m, port: d.Target.Port });
      }
      states.push({ target: arn, members, conflicts: new Map() });
    }
    return states;
  }

  async add(state: TargetState, members: readonly Member[], signal?: AbortSignal): Promise<void> {
    if (!members.length) return;
    await this.#client.send(
      new RegisterTargetsCommand({
        TargetGroupArn: state.target,
        Targets: members.map((m) => ({
          Id: m.instance,
          ...(this.#port === undefined ? {} : { Port: this.#port }),
        })),
      }),
      { abortSignal: signal },
    );
  }

  async remove(
    state: TargetState,
    members: readonly Member[],
    signal?: AbortSignal,
  ): Promise<void> {
    // Without a configured port one key may stand for the instance on several ports.
    const keys = new Set(members.map((m) => m.key));
    const targets = state.members.filter((m) => keys.has(m.key));
    if (!targets.length) return;
    await this.#client.send(
      new DeregisterTargetsCommand({
        TargetGroupArn: state.target,
        Targets: targets.map((m) => ({ Id: m.instance, Port: m.port })),
      }),
      { abortSignal: signal },
    );
  }
}
