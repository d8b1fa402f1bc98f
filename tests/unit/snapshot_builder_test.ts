import { deepStrictEqual, notStrictEqual, strictEqual } from "node:assert";
import { parseConfig } from "../../lib/kinds.ts";
import type { PoolsConfig } from "../../lib/model/config.ts";
import type { PoolMember } from "../../lib/model/pool_member.ts";
import { buildSnapshot } from "../../lib/pipeline/snapshot_builder.ts";

const config = parseConfig({
  backend: "nginx",
  servers: [
    {
      ports: [8080],
      routes: ["a", "b"].map((name) => ({
        locations: [`/${name}/`],
        sources: [{ source_class: "static", name, host: "127.0.0.1", port: 1 }],
      })),
    },
    {
      ports: [9090],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "c", host: "127.0.0.1", port: 1 }],
      }],
    },
  ],
});

/** Members by source name; what a test changes between builds. */
const members = new Map<string, PoolMember[]>();
const member = (port: number, share = 1, host = "127.0.0.1"): PoolMember => ({
  endpoint: { host, port, ports: { default: port } },
  source: "test",
  factors: [{ name: "f", share, detail: `share ${share}`, state: { at: Math.random() } }],
});
const membersOf = (p: PoolsConfig) => {
  const src = p.sources[0];
  return { primary: members.get(src.kind === "static" ? src.name : "") ?? [], overflow: [] };
};
const build = (previous?: ReturnType<typeof buildSnapshot>, adjust = true) =>
  buildSnapshot(config, membersOf, { adjust, now: Date.now(), previous });

Deno.test("snapshot builder: only the upstream whose members changed is rebuilt; the rest is the previous objects", () => {
  members.set("a", [member(1), member(2)]);
  members.set("b", [member(3)]);
  members.set("c", [member(4)]);
  const first = build();
  // Same members, new factor objects (adjusters answer anew each time): nothing rebuilt.
  members.set("a", [member(1), member(2)]);
  const same = build(first);
  notStrictEqual(same, first);
  strictEqual(same.servers[0], first.servers[0]);
  strictEqual(same.servers[1], first.servers[1]);
  // One member of "a" leaves: route a and its server are new, route b and server 2 are not.
  members.set("a", [member(1)]);
  const next = build(same);
  notStrictEqual(next.servers[0], first.servers[0]);
  notStrictEqual(next.servers[0].routes[0], first.servers[0].routes[0]);
  strictEqual(next.servers[0].routes[1], first.servers[0].routes[1]);
  strictEqual(next.servers[1], first.servers[1]);
  deepStrictEqual(next.servers[0].routes[0].endpoints.map((e) => e.port), [1]);
  strictEqual(Object.isFrozen(next.servers[0].routes[0].endpoints[0]), true);
});

Deno.test("snapshot builder: a reused snapshot renders what a fresh build would (factor states aside)", () => {
  members.set("a", [member(1, 0.5), member(2)]);
  members.set("b", [member(3)]);
  members.set("c", [member(4)]);
  const first = build();
  members.set("b", [member(3), member(5)]);
  const shared = build(first);
  const fresh = build();
  const strip = (s: typeof fresh) =>
    JSON.parse(JSON.stringify({ ...s, builtAt: 0 }, (k, v) => (k === "state" ? undefined : v)));
  deepStrictEqual(strip(shared), strip(fresh));
});

Deno.test("snapshot builder: a changed share, address or adjustment mode rebuilds", () => {
  members.set("a", [member(1)]);
  members.set("b", [member(3)]);
  members.set("c", [member(4)]);
  const first = build();
  members.set("a", [member(1, 0.5)]);
  const shareChanged = build(first);
  notStrictEqual(shareChanged.servers[0].routes[0], first.servers[0].routes[0]);
  strictEqual(shareChanged.servers[0].routes[1], first.servers[0].routes[1]);
  // Adjustment delayed: every upstream weighs differently.
  const delayed = build(shareChanged, false);
  notStrictEqual(delayed.servers[1], shareChanged.servers[1]);
  // A host name's address changes: its upstream is rebuilt.
  let address = "10.0.0.1";
  const withAddress = (previous?: typeof first) =>
    buildSnapshot(config, membersOf, {
      adjust: true,
      now: 0,
      previous,
      addressOf: () => ({ address }),
    });
  const a1 = withAddress();
  strictEqual(withAddress(a1).servers[0], a1.servers[0]);
  address = "10.0.0.2";
  const a2 = withAddress(a1);
  notStrictEqual(a2.servers[0].routes[0], a1.servers[0].routes[0]);
  strictEqual(a2.servers[0].routes[0].endpoints[0].address, "10.0.0.2");
});
