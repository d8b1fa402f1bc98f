import { deepStrictEqual, strictEqual } from "node:assert";
import type { ApplyResult } from "../../lib/backends/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import type { Pool, ProxySnapshot, Upstream } from "../../lib/model/snapshot.ts";
import { ChangeLog } from "../../lib/observability/change_log.ts";
import { diffSnapshots } from "../../lib/observability/snapshot_diff.ts";

/** An upstream with endpoints `port:weight` on 10.0.0.1 (`o` suffix: overflow pool). */
function up(slug: string, eps: string[]): Upstream {
  return {
    slug,
    failOpen: false,
    notes: [],
    skipped: [],
    endpoints: eps.map((spec) => {
      const [port, weight] = spec.replace("o", "").split(":").map(Number);
      const pool: Pool = spec.endsWith("o") ? "overflow" : "primary";
      return {
        host: "10.0.0.1",
        address: "10.0.0.1",
        port,
        weight,
        fraction: 0,
        share: 1,
        pool,
        source: "test",
        factors: [],
        audit: [],
      };
    }),
  };
}

function snap(routes: Upstream[], builtAt = 1): ProxySnapshot {
  return {
    context: {},
    builtAt,
    adjustmentDelayed: false,
    servers: [{
      slug: "s",
      hosts: [],
      ports: [80],
      context: {},
      routes: routes.map((u) => ({ ...u, locations: ["/"], emptyEndpointStatusCode: 503 })),
      streams: [],
    }],
  };
}

const applied: ApplyResult = { kind: "applied", reloaded: true, durationMs: 12.4 };

Deno.test("snapshot diff: joined, left and reweighted endpoints per upstream; identical upstreams skipped", () => {
  const a = snap([up("u1", ["1:1000", "2:500"]), up("u2", ["7:1000"])]);
  const b: ProxySnapshot = {
    ...a,
    servers: [{
      ...a.servers[0],
      routes: [
        { ...a.servers[0].routes[0], ...up("u1", ["2:1000", "3:1000", "4:10o"]) },
        a.servers[0].routes[1],
      ],
    }],
  };
  deepStrictEqual(diffSnapshots(a, b), [{
    upstream: "u1",
    joined: [{ endpoint: "10.0.0.1:3", pool: "primary" }, {
      endpoint: "10.0.0.1:4",
      pool: "overflow",
    }],
    joinedCount: 2,
    left: [{ endpoint: "10.0.0.1:1", pool: "primary" }],
    leftCount: 1,
    reweighted: [{ endpoint: "10.0.0.1:2", pool: "primary", from: 500, to: 1000 }],
    reweightedCount: 1,
  }]);
  deepStrictEqual(diffSnapshots(a, a), []);
  strictEqual(diffSnapshots(undefined, a).map((d) => d.joinedCount).join(), "2,1");
  // Lists are bounded; the counts stay exact.
  const many = snap([up("u1", Array.from({ length: 50 }, (_, i) => `${i + 1}:1000`))]);
  const d = diffSnapshots(undefined, many, 3)[0];
  strictEqual(d.joined.length, 3);
  strictEqual(d.joinedCount, 50);
});

Deno.test("change log: one entry and one concise line per update, with how the apply ended", () => {
  const logger = memoryLogger();
  const log = new ChangeLog({ logger });
  const first = snap([up("u1", ["1:1000"])], 1);
  log.onSnapshot(first, undefined);
  log.onApplied(applied, first);
  const second = snap([up("u1", ["2:1000", "1:500"])], 2);
  log.onSnapshot(second, first);
  log.onApplied({ kind: "invalid", error: "nginx -t: bad" }, second);
  const lines = logger.lines.map((l) => l.replace(/^\S+ INFO /, ""));
  deepStrictEqual(lines, [
    "upstream u1: +10.0.0.1:1; applied in 12 ms",
    "upstream u1: +10.0.0.1:2 10.0.0.1:1 weight 1000→500; rejected by the proxy, previous config stays live",
  ]);
  const entries = log.entries();
  strictEqual(entries.length, 2);
  deepStrictEqual(entries[1].apply, { kind: "invalid", error: "nginx -t: bad" });
  strictEqual(entries[1].at, 2);
  strictEqual(entries[1].seq, 2);
  // Plain data: survives a JSON round trip unchanged (for /status.json).
  deepStrictEqual(JSON.parse(JSON.stringify(entries)), entries);
});

Deno.test("change log: an update that changed nothing the proxy runs is not recorded", () => {
  const logger = memoryLogger();
  const log = new ChangeLog({ logger });
  const a = snap([up("u1", ["1:1000"])]);
  log.onSnapshot(a, undefined);
  log.onApplied({ kind: "unchanged" }, a);
  const b = snap([up("u1", ["1:1000"])]);
  log.onSnapshot(b, a);
  log.onApplied({ kind: "unchanged" }, b);
  strictEqual(log.entries().length, 1, "only the first (endpoints joined)");
  strictEqual(logger.lines.length, 1);
  strictEqual(logger.lines[0].endsWith("upstream u1: +10.0.0.1:1; proxy config unchanged"), true);
  // A reload with no endpoint change (say, a restarted aurproxy confirming nginx) is.
  const c = snap([up("u1", ["1:1000"])]);
  log.onSnapshot(c, b);
  log.onApplied(applied, c);
  strictEqual(logger.lines[1].endsWith("no endpoint changes; applied in 12 ms"), true);
});

Deno.test("change log: a bounded ring; long lists are cut in the line with a count", () => {
  const logger = memoryLogger();
  const log = new ChangeLog({ logger, capacity: 3, maxPerList: 4 });
  let prev: ProxySnapshot | undefined;
  for (let i = 1; i <= 5; i++) {
    const s = snap([up("u1", Array.from({ length: i * 10 }, (_, j) => `${j + 1}:1000`))], i);
    log.onSnapshot(s, prev);
    log.onApplied(applied, s);
    prev = s;
  }
  deepStrictEqual(log.entries().map((e) => e.seq), [3, 4, 5]);
  const last = log.entries()[2].upstreams[0];
  strictEqual(last.joined.length, 4);
  strictEqual(last.joinedCount, 10);
  strictEqual(
    logger.lines[0].endsWith(
      "upstream u1: +10.0.0.1:1 +10.0.0.1:2 +10.0.0.1:3 +10.0.0.1:4 (+6 more); applied in 12 ms",
    ),
    true,
    logger.lines[0],
  );
});

Deno.test("snapshot diff: insertions, removals, moves and weight changes anywhere match a plain set comparison", () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 1000; round++) {
    const before = Array.from({ length: rand(30) }, (_, i) => `${i + 1}:${1 + rand(3)}`);
    const after = before.filter(() => rand(5) > 0).map((s) =>
      rand(4) ? s : `${s.split(":")[0]}:${1 + rand(3)}`
    );
    for (let i = rand(3); i > 0; i--) after.splice(rand(after.length + 1), 0, `${100 + i}:1`);
    if (rand(4) === 0 && after.length > 1) after.push(after.shift()!);
    const d = diffSnapshots(snap([up("u", before)]), snap([up("u", after)]))[0];
    const weights = (l: string[]) =>
      new Map(l.map((s) => s.split(":").map(Number) as [number, number]));
    const b = weights(before);
    const a = weights(after);
    const sorted = (xs: number[]) => xs.sort((x, y) => x - y);
    const port = (e: { endpoint: string }) => Number(e.endpoint.split(":")[1]);
    deepStrictEqual(
      sorted(d?.joined.map(port) ?? []),
      sorted([...a.keys()].filter((p) => !b.has(p))),
    );
    deepStrictEqual(
      sorted(d?.left.map(port) ?? []),
      sorted([...b.keys()].filter((p) => !a.has(p))),
    );
    deepStrictEqual(
      d?.reweighted.map(port) ?? [],
      [...a.keys()].filter((p) => b.has(p) && b.get(p) !== a.get(p)),
      `${before} -> ${after}`,
    );
  }
});
