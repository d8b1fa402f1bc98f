/**
 * Route 53 of the AWS stand-in, in its REST-XML protocol: `GET .../rrset` lists record
 * sets from a starting name, type and identifier, paged, in Route 53's order (labels
 * reversed); `POST .../rrset/` applies a change batch atomically, refusing as Route 53
 * does a CREATE of a set that exists, a DELETE that does not match the set exactly, and
 * (as the original aurproxy expected) members of a weighted set with different TTLs.
 *
 * @module
 */

import { child, children, esc, parseXml, text } from "./xml.ts";
import { AwsFault, type AwsWorld, fqdn, type RecordSet } from "./world.ts";

const NS = "https://route53.amazonaws.com/doc/2013-04-01/";
const PATH = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset\/?$/;

/** Whether a path is one of Route 53's. */
export function isRoute53Path(path: string): boolean {
  return path.startsWith("/2013-04-01/");
}

/** The Route 53 action a request is. */
export function route53Action(method: string): string {
  return method === "GET" ? "ListResourceRecordSets" : "ChangeResourceRecordSets";
}

/** The error document of Route 53. */
export function route53Error(f: AwsFault, id: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type>` +
    `<Code>${esc(f.code)}</Code><Message>${esc(f.message)}</Message></Error>` +
    `<RequestId>${esc(id)}</RequestId></ErrorResponse>`;
}

function order(r: Pick<RecordSet, "name" | "type" | "setIdentifier">): string {
  return `${r.name.split(".").reverse().join(".")}\u0000${r.type}\u0000${r.setIdentifier ?? ""}`;
}

function recordXml(r: RecordSet): string {
  return `<ResourceRecordSet><Name>${esc(r.name)}</Name><Type>${esc(r.type)}</Type>` +
    (r.setIdentifier !== undefined
      ? `<SetIdentifier>${esc(r.setIdentifier)}</SetIdentifier>`
      : "") +
    (r.weight !== undefined ? `<Weight>${r.weight}</Weight>` : "") +
    (r.ttl !== undefined ? `<TTL>${r.ttl}</TTL>` : "") +
    `<ResourceRecords>${
      r.values.map((v) => `<ResourceRecord><Value>${esc(v)}</Value></ResourceRecord>`).join("")
    }` +
    `</ResourceRecords></ResourceRecordSet>`;
}

function describe(r: Pick<RecordSet, "name" | "type" | "setIdentifier">): string {
  return `[name='${r.name}', type='${r.type}'${
    r.setIdentifier !== undefined ? `, set-identifier='${r.setIdentifier}'` : ""
  }]`;
}

function same(a: RecordSet, b: RecordSet): boolean {
  return a.name === b.name && a.type === b.type && a.setIdentifier === b.setIdentifier;
}

function list(world: AwsWorld, zone: RecordSet[], q: URLSearchParams): string {
  const start = order({
    name: fqdn(q.get("name") ?? ""),
    type: q.get("type") ?? "",
    setIdentifier: q.get("identifier") ?? undefined,
  });
  const max = Number(q.get("maxitems") ?? world.route53PageSize) || world.route53PageSize;
  const sorted = [...zone].sort((a, b) => order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0);
  const from = q.get("name") ? sorted.filter((r) => order(r) >= start) : sorted;
  const page = from.slice(0, Math.min(max, world.route53PageSize));
  const next = from[page.length];
  return `<?xml version="1.0" encoding="UTF-8"?><ListResourceRecordSetsResponse xmlns="${NS}">` +
    `<ResourceRecordSets>${page.map(recordXml).join("")}</ResourceRecordSets>` +
    `<IsTruncated>${next ? "true" : "false"}</IsTruncated>` +
    (next
      ? `<NextRecordName>${esc(next.name)}</NextRecordName><NextRecordType>${
        esc(next.type)
      }</NextRecordType>` +
        (next.setIdentifier !== undefined
          ? `<NextRecordIdentifier>${esc(next.setIdentifier)}</NextRecordIdentifier>`
          : "")
      : "") +
    `<MaxItems>${max}</MaxItems></ListResourceRecordSetsResponse>`;
}

function change(zone: RecordSet[], body: string): string {
  const doc = parseXml(body);
  const changes = children(child(child(doc, "ChangeBatch"), "Changes"), "Change");
  const next = [...zone];
  for (const c of changes) {
    const action = text(c, "Action");
    const s = child(c, "ResourceRecordSet");
    const num = (k: string) => (text(s, k) === undefined ? undefined : Number(text(s, k)));
    const r: RecordSet = {
      name: fqdn(text(s, "Name") ?? ""),
      type: text(s, "Type") ?? "",
      setIdentifier: text(s, "SetIdentifier"),
      weight: num("Weight"),
      ttl: num("TTL"),
      values: children(child(s, "ResourceRecords"), "ResourceRecord").map((v) =>
        text(v, "Value") ?? ""
      ),
    };
    const at = next.findIndex((x) => same(x, r));
    if (action === "CREATE") {
      if (at >= 0) {
        throw new AwsFault(
          400,
          "InvalidChangeBatch",
          `[Tried to create resource record set ${describe(r)} but it already exists]`,
        );
      }
      const set = next.filter((x) => x.name === r.name && x.type === r.type);
      if (set.some((x) => (x.setIdentifier === undefined) !== (r.setIdentifier === undefined))) {
        throw new AwsFault(
          400,
          "InvalidChangeBatch",
          `[RRSet ${describe(r)} mixes weighted and simple records]`,
        );
      }
      if (set.some((x) => x.ttl !== r.ttl)) {
        throw new AwsFault(
          400,
          "InvalidChangeBatch",
          `[TTL ${r.ttl} of ${describe(r)} differs from the set's TTL ${set[0].ttl}]`,
        );
      }
      next.push(r);
    } else if (action === "DELETE") {
      if (at < 0) {
        throw new AwsFault(
          400,
          "InvalidChangeBatch",
          `[Tried to delete resource record set ${describe(r)} but it was not found]`,
        );
      }
      const x = next[at];
      if (x.ttl !== r.ttl || x.weight !== r.weight || x.values.join(",") !== r.values.join(",")) {
        throw new AwsFault(
          400,
          "InvalidChangeBatch",
          `[Tried to delete resource record set ${
            describe(r)
          } but the values provided do not match the current values]`,
        );
      }
      next.splice(at, 1);
    } else throw new AwsFault(400, "InvalidInput", `unsupported action ${action}`);
  }
  zone.splice(0, zone.length, ...next);
  return `<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsResponse xmlns="${NS}">` +
    `<ChangeInfo><Id>/change/C${Date.now()}</Id><Status>PENDING</Status>` +
    `<SubmittedAt>${
      new Date().toISOString()
    }</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`;
}

/** Handles one Route 53 request; returns the answer's XML. */
export function handleRoute53(world: AwsWorld, method: string, url: URL, body: string): string {
  const m = PATH.exec(url.pathname);
  if (!m) throw new AwsFault(404, "UnknownOperation", `no such path ${url.pathname}`);
  const zone = world.zones.get(decodeURIComponent(m[1]));
  if (!zone) throw new AwsFault(404, "NoSuchHostedZone", `No hosted zone found with ID: ${m[1]}`);
  if (method === "GET") return list(world, zone, url.searchParams);
  if (method === "POST") return change(zone, body);
  throw new AwsFault(405, "MethodNotAllowed", method);
}
