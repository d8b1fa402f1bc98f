/**
 * A weighted CNAME record set in Route 53 as a {@linkcode TargetService}: the target is
 * `domain` in `hosted_zone_id`, its members are host names, one record each, as the
 * original wrote them: `SetIdentifier` = host, `Weight` 1, value = host.
 *
 * - New records take the TTL of the records already there (all members of a set share
 *   one TTL); `ttl` is used only for the first, and a difference is logged as a warning.
 * - A record is deleted exactly as it was read (TTL, weight, values): Route 53 refuses a
 *   DELETE that differs in any of them.
 * - A host that several records speak for (by set identifier or by value) is a conflict:
 *   reported with an error and never changed, for an operator to sort out.
 *
 * @module
 */

import {
  type Change,
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from "@aws-sdk/client-route-53";
import type { Logger } from "../log.ts";
import type { Member, TargetService, TargetState } from "./registerer.ts";

/** The part of the Route 53 client used here. */
export type Route53Sender = Pick<Route53Client, "send">;

/** What the Route 53 service needs to know. */
export interface Route53Target {
  /** The record name, lower case, no trailing dot. */
  readonly domain: string;
  readonly hostedZoneId: string;
  /** TTL of the first record of the set. */
  readonly ttl: number;
}

/** `Myproxy.Example.com.` and `\052.x.` → `myproxy.example.com` and `*.x`. */
export function normalizeDnsName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
    .replace(/\.$/, "")
    .toLowerCase();
}

/** A member for a host name. */
export function hostMember(host: string): Member {
  return { key: normalizeDnsName(host), host };
}

function describeRecord(r: ResourceRecordSet): string {
  const values = (r.ResourceRecords ?? []).map((v) => v.Value).join(",");
  return `SetIdentifier=${r.SetIdentifier ?? "(none)"} value=${values} TTL=${r.TTL} Weight=${
    r.Weight ?? "(none)"
  }`;
}

/** Hosts that more than one record speaks for, with those records. */
function conflictsOf(records: readonly ResourceRecordSet[]): Map<string, string> {
  const byHost = new Map<string, ResourceRecordSet[]>();
  for (const r of records) {
    const hosts = new Set<string>();
    if (r.SetIdentifier) hosts.add(normalizeDnsName(r.SetIdentifier));
    const values = r.ResourceRecords ?? [];
    if (values.length === 1 && values[0].Value) hosts.add(normalizeDnsName(values[0].Value));
    for (const h of hosts) byHost.set(h, [...(byHost.get(h) ?? []), r]);
  }
  const out = new Map<string, string>();
  for (const [host, rs] of byHost) {
    if (rs.length < 2) continue;
    out.set(host, `${rs.length} records for ${host}: ${rs.map(describeRecord).join("; ")}`);
  }
  return out;
}

/**
 * @example
 * ```ts
 * import { Route53Client } from "@aws-sdk/client-route-53";
 * import { memoryLogger } from "../log.ts";
 * import { clientConfig } from "./aws.ts";
 *
 * const client = new Route53Client(clientConfig({ region: "us-east-1" }));
 * const dns = new Route53Service(client, {
 *   domain: "proxy.example.com", hostedZoneId: "Z123", ttl: 60,
 * }, memoryLogger());
 * dns.targets; // ["proxy.example.com"]; dns.read() would call AWS
 * client.destroy();
 * ```
 */
export class Route53Service implements TargetService {
  readonly service = "route53";
  readonly targets: readonly string[];
  readonly #client: Route53Sender;
  readonly #t: Route53Target;
  readonly #logger: Logger;
  /** The records each state was read from, for TTLs and exact deletes. */
  readonly #records = new WeakMap<TargetState, readonly ResourceRecordSet[]>();

  constructor(client: Route53Sender, target: Route53Target, logger: Logger) {
    this.#client = client;
    this.#t = target;
    this.#logger = logger;
    this.targets = [target.domain];
  }

  async read(signal?: AbortSignal): Promise<TargetState[]> {
    const { domain, hostedZoneId } = this.#t;
    const records: ResourceRecordSet[] = [];
    let next: { name?: string; type?: string; id?: string } = { name: domain, type: "CNAME" };
    for (;;) {
      const out = await this.#client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: hostedZoneId,
          StartRecordName: next.name,
          StartRecordType: next.type as "CNAME",
          StartRecordIdentifier: next.id,
        }),
        { abortSignal: signal },
      );
      const page = out.ResourceRecordSets ?? [];
      const ours = page.filter((r) =>
        r.Type === "CNAME" && normalizeDnsName(r.Name ?? "") === domain
      );
      records.push(...ours);
      // Records come sorted by name and type: one past ours means there are no more.
      if (!out.IsTruncated || ours.length < page.length) break;
      next = { name: out.NextRecordName, type: out.NextRecordType, id: out.NextRecordIdentifier };
      if (normalizeDnsName(next.name ?? "") !== domain || next.type !== "CNAME") break;
    }
    const members = records.filter((r) => r.SetIdentifier).map((r) => hostMember(r.SetIdentifier!));
    const state: TargetState = { target: domain, members, conflicts: conflictsOf(records) };
    this.#records.set(state, records);
    return [state];
  }

  async #recordsOf(
    state: TargetState,
    signal?: AbortSignal,
  ): Promise<readonly ResourceRecordSet[]> {
    const known = this.#records.get(state);
    if (known) return known;
    const [fresh] = await this.read(signal);
    return this.#records.get(fresh) ?? [];
  }

  async add(state: TargetState, members: readonly Member[], signal?: AbortSignal): Promise<void> {
    if (!members.length) return;
    const records = await this.#recordsOf(state, signal);
    const existing = records.find((r) => r.SetIdentifier && r.TTL !== undefined)?.TTL;
    const ttl = existing ?? this.#t.ttl;
    if (ttl !== this.#t.ttl) {
      this.#logger.warn(
        `${this.#t.domain}: the record set has TTL ${ttl}; registering with it instead of ttl=${this.#t.ttl}`,
      );
    }
    const changes: Change[] = members.map((m) => {
      const host = m.host ?? m.key;
      return {
        Action: "CREATE",
        ResourceRecordSet: {
          Name: this.#t.domain,
          Type: "CNAME",
          SetIdentifier: host,
          Weight: 1,
          TTL: ttl,
          ResourceRecords: [{ Value: host }],
        },
      };
    });
    await this.#change(changes, signal);
  }

  async remove(
    state: TargetState,
    members: readonly Member[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (!members.length) return;
    const records = await this.#recordsOf(state, signal);
    const keys = new Set(members.map((m) => m.key));
    const doomed = records.filter((r) =>
      r.SetIdentifier && keys.has(normalizeDnsName(r.SetIdentifier))
    );
    for (const r of doomed) {
      if (r.TTL !== this.#t.ttl) {
        this.#logger.warn(
          `${this.#t.domain}: deleting ${r.SetIdentifier} with its TTL ${r.TTL}, not ttl=${this.#t.ttl}`,
        );
      }
    }
    if (!doomed.length) return;
    await this.#change(doomed.map((r) => ({ Action: "DELETE", ResourceRecordSet: r })), signal);
  }

  async #change(changes: Change[], signal?: AbortSignal): Promise<void> {
    await this.#client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: this.#t.hostedZoneId,
        ChangeBatch: { Changes: changes, Comment: "aurproxy registration" },
      }),
      { abortSignal: signal },
    );
  }
}
