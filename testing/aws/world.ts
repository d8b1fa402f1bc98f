/**
 * The state of the AWS stand-in: EC2 instances, classic ELBs with their instances,
 * target groups with their targets, hosted zones with their record sets. Tests set it up
 * and read it back; the service handlers change it as AWS would.
 *
 * @module
 */

/** An EC2 instance as DescribeInstances shows it. */
export interface Ec2Instance {
  readonly id: string;
  readonly publicDnsName?: string;
  readonly privateDnsName?: string;
  readonly publicIp?: string;
  readonly privateIp?: string;
  /** Default `running`. */
  readonly state?: "pending" | "running" | "stopping" | "stopped" | "terminated";
}

/** One registered target of a target group. */
export interface Target {
  readonly id: string;
  readonly port: number;
  state: "initial" | "healthy" | "unhealthy" | "draining" | "unused";
}

/** A target group. */
export interface TargetGroup {
  /** Default port for targets registered without one. */
  readonly port: number;
  readonly targets: Target[];
}

/** A resource record set. */
export interface RecordSet {
  /** As stored: lower case, with the trailing dot. */
  readonly name: string;
  readonly type: string;
  readonly setIdentifier?: string;
  readonly weight?: number;
  readonly ttl?: number;
  readonly values: readonly string[];
}

/** An error answer: HTTP status, AWS error code and message. */
export class AwsFault extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** Lower case with a trailing dot, as Route 53 stores names. */
export function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith(".") ? n : `${n}.`;
}

/** The whole stand-in state. */
export class AwsWorld {
  readonly instances: Ec2Instance[] = [];
  /** ELB name → registered instance ids. */
  readonly elbs = new Map<string, string[]>();
  /** Target group ARN → group. */
  readonly targetGroups = new Map<string, TargetGroup>();
  /** Hosted zone id → record sets. */
  readonly zones = new Map<string, RecordSet[]>();
  /** Page size of DescribeInstances (lower it to exercise paging). */
  ec2PageSize = 1000;
  /** Page size of ListResourceRecordSets when the client asks for none. */
  route53PageSize = 100;

  /** Adds an ELB with instances. */
  addElb(name: string, instances: readonly string[] = []): void {
    this.elbs.set(name, [...instances]);
  }

  /** Adds a target group; returns its ARN. */
  addTargetGroup(
    name: string,
    port: number,
    targets: readonly { id: string; port?: number }[] = [],
  ): string {
    const arn =
      `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/0123456789abcdef`;
    this.targetGroups.set(arn, {
      port,
      targets: targets.map((t) => ({ id: t.id, port: t.port ?? port, state: "healthy" })),
    });
    return arn;
  }

  /** Adds a hosted zone with record sets; names are normalized. */
  addZone(id: string, records: readonly RecordSet[] = []): void {
    this.zones.set(id, records.map((r) => ({ ...r, name: fqdn(r.name) })));
  }

  /** The record sets of `zone` named `name` (any type). */
  records(zone: string, name: string): RecordSet[] {
    return (this.zones.get(zone) ?? []).filter((r) => r.name === fqdn(name));
  }
}
