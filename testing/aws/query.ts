/**
 * The query-protocol services of the AWS stand-in: classic ELB (API 2012-06-01), ELBv2
 * (2015-12-01) and EC2 (2016-11-15). Requests are form-encoded `Action=...&Version=...`
 * with flattened lists (`LoadBalancerNames.member.1`, `Filter.1.Value.1`); answers are
 * XML in each service's namespace, errors in its error shape.
 *
 * @module
 */

import { esc, xml, type XmlValue } from "./xml.ts";
import { AwsFault, type AwsWorld, type Ec2Instance } from "./world.ts";

/** Form parameters of one request. */
export type Params = Readonly<Record<string, string>>;

/** The query services, by API version. */
export const QUERY_VERSIONS: Readonly<Record<string, "elb" | "elbv2" | "ec2">> = {
  "2012-06-01": "elb",
  "2015-12-01": "elbv2",
  "2016-11-15": "ec2",
};

const NS = {
  elb: "http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/",
  elbv2: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
  ec2: "http://ec2.amazonaws.com/doc/2016-11-15/",
};

function list(p: Params, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; p[`${prefix}.${i}`] !== undefined; i++) out.push(p[`${prefix}.${i}`]);
  return out;
}

function objects(p: Params, prefix: string, fields: readonly string[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let i = 1;; i++) {
    const o: Record<string, string> = {};
    for (const f of fields) {
      const v = p[`${prefix}.${i}.${f}`];
      if (v !== undefined) o[f] = v;
    }
    if (!Object.keys(o).length) return out;
    out.push(o);
  }
}

function queryAnswer(
  service: "elb" | "elbv2",
  action: string,
  result: Record<string, XmlValue>,
  id: string,
): string {
  return `<${action}Response xmlns="${NS[service]}">${xml(`${action}Result`, result)}` +
    `<ResponseMetadata><RequestId>${esc(id)}</RequestId></ResponseMetadata></${action}Response>`;
}

/** The error document of a query service. */
export function queryError(service: "elb" | "elbv2" | "ec2", f: AwsFault, id: string): string {
  if (service === "ec2") {
    return `<Response><Errors><Error><Code>${esc(f.code)}</Code><Message>${
      esc(f.message)
    }</Message>` +
      `</Error></Errors><RequestID>${esc(id)}</RequestID></Response>`;
  }
  return `<ErrorResponse xmlns="${NS[service]}"><Error><Type>Sender</Type><Code>${
    esc(f.code)
  }</Code>` +
    `<Message>${esc(f.message)}</Message></Error><RequestId>${esc(id)}</RequestId></ErrorResponse>`;
}

function knownInstance(world: AwsWorld, id: string, code: string): void {
  if (!world.instances.some((i) => i.id === id)) {
    throw new AwsFault(400, code, `The requested instance ${id} is not a valid EC2 instance.`);
  }
}

/** Classic ELB. */
export function handleElb(world: AwsWorld, action: string, p: Params, id: string): string {
  const lb = (name: string) => {
    const instances = world.elbs.get(name);
    if (!instances) {
      throw new AwsFault(
        400,
        "LoadBalancerNotFound",
        `There is no ACTIVE Load Balancer named '${name}'`,
      );
    }
    return instances;
  };
  const instancesXml = (ids: readonly string[]) => ids.map((i) => ({ InstanceId: i }));
  switch (action) {
    case "DescribeLoadBalancers": {
      const names = list(p, "LoadBalancerNames.member");
      const chosen = names.length ? names : [...world.elbs.keys()];
      return queryAnswer("elb", action, {
        LoadBalancerDescriptions: chosen.map((n) => ({
          LoadBalancerName: n,
          Instances: instancesXml(lb(n)),
        })),
      }, id);
    }
    case "RegisterInstancesWithLoadBalancer": {
      const ids = lb(p.LoadBalancerName);
      for (const o of objects(p, "Instances.member", ["InstanceId"])) {
        knownInstance(world, o.InstanceId, "InvalidInstance");
        if (!ids.includes(o.InstanceId)) ids.push(o.InstanceId);
      }
      return queryAnswer("elb", action, { Instances: instancesXml(ids) }, id);
    }
    case "DeregisterInstancesFromLoadBalancer": {
      const ids = lb(p.LoadBalancerName);
      for (const o of objects(p, "Instances.member", ["InstanceId"])) {
        const at = ids.indexOf(o.InstanceId);
        if (at < 0) {
          throw new AwsFault(
            400,
            "InvalidInstance",
            `${o.InstanceId} is not registered with ${p.LoadBalancerName}`,
          );
        }
        ids.splice(at, 1);
      }
      return queryAnswer("elb", action, { Instances: instancesXml(ids) }, id);
    }
  }
  throw new AwsFault(400, "InvalidAction", `unknown action ${action}`);
}

/** ELBv2 target groups. */
export function handleElbV2(world: AwsWorld, action: string, p: Params, id: string): string {
  const tg = world.targetGroups.get(p.TargetGroupArn);
  if (!tg) {
    throw new AwsFault(400, "TargetGroupNotFound", `Target groups '${p.TargetGroupArn}' not found`);
  }
  const targets = objects(p, "Targets.member", ["Id", "Port"]);
  switch (action) {
    case "DescribeTargetHealth":
      return queryAnswer("elbv2", action, {
        TargetHealthDescriptions: tg.targets.map((t) => ({
          Target: { Id: t.id, Port: t.port },
          HealthCheckPort: String(t.port),
          TargetHealth: { State: t.state },
        })),
      }, id);
    case "RegisterTargets":
      for (const t of targets) {
        knownInstance(world, t.Id, "InvalidTarget");
        const port = t.Port ? Number(t.Port) : tg.port;
        const cur = tg.targets.find((x) => x.id === t.Id && x.port === port);
        if (cur) cur.state = "healthy";
        else tg.targets.push({ id: t.Id, port, state: "healthy" });
      }
      return queryAnswer("elbv2", action, {}, id);
    case "DeregisterTargets":
      for (const t of targets) {
        const port = t.Port ? Number(t.Port) : tg.port;
        const cur = tg.targets.find((x) => x.id === t.Id && x.port === port);
        if (!cur) throw new AwsFault(400, "InvalidTarget", `${t.Id}:${port} is not registered`);
        cur.state = "draining";
      }
      return queryAnswer("elbv2", action, {}, id);
  }
  throw new AwsFault(400, "InvalidAction", `unknown action ${action}`);
}

const FILTERS: Record<string, (i: Ec2Instance) => string | undefined> = {
  "dns-name": (i) => i.publicDnsName,
  "private-dns-name": (i) => i.privateDnsName,
  "ip-address": (i) => i.publicIp,
  "private-ip-address": (i) => i.privateIp,
  "instance-state-name": (i) => i.state ?? "running",
};

/** EC2 DescribeInstances (filters, paging). */
export function handleEc2(world: AwsWorld, action: string, p: Params, id: string): string {
  if (action !== "DescribeInstances") {
    throw new AwsFault(400, "InvalidAction", `unknown action ${action}`);
  }
  const filters: { name: string; values: string[] }[] = [];
  for (let i = 1; p[`Filter.${i}.Name`] !== undefined; i++) {
    const name = p[`Filter.${i}.Name`];
    if (!FILTERS[name]) throw new AwsFault(400, "InvalidParameterValue", `unknown filter ${name}`);
    filters.push({ name, values: list(p, `Filter.${i}.Value`) });
  }
  const matching = world.instances.filter((inst) =>
    filters.every((f) => f.values.includes(FILTERS[f.name](inst) ?? "\0"))
  );
  const start = p.NextToken ? Number(p.NextToken) : 0;
  const size = Math.min(world.ec2PageSize, p.MaxResults ? Number(p.MaxResults) : Infinity);
  const page = matching.slice(start, start + size);
  const next = start + size < matching.length ? String(start + size) : undefined;
  const items = page.map((i) => ({
    reservationId: `r-${i.id.slice(2)}`,
    instancesSet: [{
      instanceId: i.id,
      instanceState: { code: i.state === "terminated" ? 48 : 16, name: i.state ?? "running" },
      privateDnsName: i.privateDnsName ?? "",
      dnsName: i.publicDnsName ?? "",
      privateIpAddress: i.privateIp,
      ipAddress: i.publicIp,
    }],
  }));
  return `<DescribeInstancesResponse xmlns="${NS.ec2}"><requestId>${esc(id)}</requestId>` +
    `${xml("reservationSet", items, "item")}${next ? `<nextToken>${next}</nextToken>` : ""}` +
    `</DescribeInstancesResponse>`;
}
