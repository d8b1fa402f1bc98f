/**
 * From the hosts a source announces to EC2 instance ids, for the ELB and ELBv2 job
 * registerers. The original matched the public DNS name only; Aurora agents announce
 * whatever their host name is, often the private DNS name or an address, so each host is
 * looked for as a public DNS name, then a private DNS name, then (for an IP literal) a
 * private or public address. Only pending and running instances count: a terminated one
 * keeps its private name for a while.
 *
 * @module
 */

import { DescribeInstancesCommand, type EC2Client, type Filter } from "@aws-sdk/client-ec2";
import { isIpLiteral } from "../model/endpoint.ts";

/** The hosts found (lower-cased host → instance id) and those not found. */
export interface InstanceMatches {
  readonly found: ReadonlyMap<string, string>;
  readonly missing: readonly string[];
  /** Hosts that more than one instance answers to, with the instance ids. */
  readonly ambiguous: ReadonlyMap<string, readonly string[]>;
}

/** The part of the EC2 client used here, so a test may count calls. */
export type Ec2Sender = Pick<EC2Client, "send">;

/** EC2 accepts up to 200 values per filter; stay well below. */
const CHUNK = 100;
const LIVE: Filter = { Name: "instance-state-name", Values: ["pending", "running"] };

interface Seen {
  readonly id: string;
  readonly names: readonly string[];
}

async function describe(
  ec2: Ec2Sender,
  filter: string,
  values: readonly string[],
  signal?: AbortSignal,
): Promise<Seen[]> {
  const out: Seen[] = [];
  for (let i = 0; i < values.length; i += CHUNK) {
    let token: string | undefined;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: filter, Values: values.slice(i, i + CHUNK) }, LIVE],
          NextToken: token,
          MaxResults: 1000,
        }),
        { abortSignal: signal },
      );
      for (const r of page.Reservations ?? []) {
        for (const inst of r.Instances ?? []) {
          if (!inst.InstanceId) continue;
          const names = [inst.PublicDnsName, inst.PrivateDnsName, inst.PublicIpAddress]
            .concat(inst.PrivateIpAddress)
            .filter((n): n is string => !!n)
            .map((n) => n.toLowerCase());
          out.push({ id: inst.InstanceId, names });
        }
      }
      token = page.NextToken || undefined;
    } while (token);
  }
  return out;
}

/**
 * Looks up every host. Throws on an AWS error (the caller decides nothing then).
 *
 * @example
 * ```ts
 * import { EC2Client } from "@aws-sdk/client-ec2";
 * import { type AwsSettings, clientConfig } from "./aws.ts";
 *
 * // Calls AWS: declared here, not run.
 * async function lookUp(settings: AwsSettings) {
 *   const m = await findInstances(new EC2Client(clientConfig(settings)), ["ip-10-0-0-5.ec2.internal"]);
 *   return m.found.get("ip-10-0-0-5.ec2.internal"); // "i-0abc..."
 * }
 * ```
 */
export async function findInstances(
  ec2: Ec2Sender,
  hosts: readonly string[],
  signal?: AbortSignal,
): Promise<InstanceMatches> {
  const wanted = [...new Set(hosts.map((h) => h.toLowerCase().replace(/\.$/, "")))];
  const matches = new Map<string, Set<string>>();
  const record = (seen: readonly Seen[], pending: readonly string[]) => {
    for (const host of pending) {
      for (const s of seen) {
        if (!s.names.includes(host)) continue;
        const ids = matches.get(host) ?? new Set<string>();
        ids.add(s.id);
        matches.set(host, ids);
      }
    }
  };
  const remaining = () => wanted.filter((h) => !matches.has(h));
  const names = wanted.filter((h) => !isIpLiteral(h));
  const ips = wanted.filter((h) => isIpLiteral(h));
  if (names.length) record(await describe(ec2, "dns-name", names, signal), names);
  const privateNames = remaining().filter((h) => !isIpLiteral(h));
  if (privateNames.length) {
    record(await describe(ec2, "private-dns-name", privateNames, signal), privateNames);
  }
  if (ips.length) record(await describe(ec2, "private-ip-address", ips, signal), ips);
  const publicIps = remaining().filter((h) => isIpLiteral(h));
  if (publicIps.length) record(await describe(ec2, "ip-address", publicIps, signal), publicIps);
  const found = new Map<string, string>();
  const ambiguous = new Map<string, string[]>();
  for (const [host, ids] of matches) {
    if (ids.size === 1) found.set(host, [...ids][0]);
    else ambiguous.set(host, [...ids].sort());
  }
  return { found, missing: remaining(), ambiguous };
}
