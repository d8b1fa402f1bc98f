import { deepStrictEqual, strictEqual } from "node:assert";
import { memoryLogger } from "../../lib/log.ts";
import { type ChildrenState, ChildrenWatch } from "../../lib/zk/children_watch.ts";
import { ZkOpError } from "../../lib/zk/op_error.ts";
import { FakeClock } from "../../testing/fake_clock.ts";
import { MemoryZk } from "../../testing/memory_zk.ts";

// Lets every answer and watch notification of the in-memory tree arrive.
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A watch on `path` over an in-memory tree, recording each update as "name=data ...". */
function setup(path = "/sd/web", o: { retryMs?: number } = {}) {
  const clock = new FakeClock();
  const zk = new MemoryZk({ now: () => clock.now() });
  const reader = zk.get("zk:2181");
  const logger = memoryLogger();
  const updates: string[] = [];
  const states: ChildrenState[] = [];
  const watch = new ChildrenWatch(reader, path, {
    filter: (n) => n.startsWith("member_"),
    onUpdate: (s) => {
      states.push(s);
      updates.push(
        s.exists ? [...s.children].map(([n, d]) => `${n}=${d.data}`).join(" ") : "(no path)",
      );
    },
    clock,
    logger,
    retryMs: o.retryMs,
  });
  return { clock, zk, reader, logger, updates, states, watch, last: () => updates.at(-1) };
}

Deno.test("children watch: members joining, leaving and changing data are reported in name order", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000002", "b");
  t.zk.create("/sd/web/member_0000000001", "a");
  t.zk.create("/sd/web/other", "not a member");
  t.watch.start();
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b");
  t.zk.create("/sd/web/member_0000000003", "c");
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b member_0000000003=c");
  t.zk.remove("/sd/web/member_0000000001");
  await settle();
  strictEqual(t.last(), "member_0000000002=b member_0000000003=c");
  t.zk.setData("/sd/web/member_0000000003", "c2");
  await settle();
  strictEqual(t.last(), "member_0000000002=b member_0000000003=c2");
  strictEqual(t.watch.failure, undefined);
  strictEqual(t.reader.touches > 0, true, "watch firings count as signs of life");
  t.watch.stop();
});

Deno.test("children watch: a join reads the new member only; a data change reads that member only, without listing", async () => {
  const t = setup();
  for (let i = 0; i < 200; i++) {
    t.zk.create(`/sd/web/member_${String(i).padStart(10, "0")}`, `${i}`);
  }
  t.watch.start();
  await settle();
  strictEqual(t.states.at(-1)!.children.size, 200);
  deepStrictEqual(t.reader.calls, { getChildren: 1, getNode: 200, exists: 0 });

  t.zk.create("/sd/web/member_0000000200", "200");
  await settle();
  strictEqual(t.states.at(-1)!.children.size, 201);
  deepStrictEqual(t.reader.calls, { getChildren: 2, getNode: 201, exists: 0 });

  t.zk.setData("/sd/web/member_0000000007", "seven");
  await settle();
  strictEqual(t.states.at(-1)!.children.get("member_0000000007")!.data, "seven");
  deepStrictEqual(t.reader.calls, { getChildren: 2, getNode: 202, exists: 0 });

  t.zk.remove("/sd/web/member_0000000003");
  await settle();
  strictEqual(t.states.at(-1)!.children.has("member_0000000003"), false);
  strictEqual(t.reader.calls.getNode, 203, "at most the removed member's own read");
  t.watch.stop();
});

Deno.test("children watch: each version of a member's data has its own version stamp", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000001", "a");
  t.watch.start();
  await settle();
  const v1 = t.states.at(-1)!.children.get("member_0000000001")!.version;
  t.zk.setData("/sd/web/member_0000000001", "a");
  await settle();
  const v2 = t.states.at(-1)!.children.get("member_0000000001")!.version;
  strictEqual(v1 !== v2, true, "same data, new write: new version");
  t.zk.remove("/sd/web/member_0000000001");
  t.zk.create("/sd/web/member_0000000001", "a");
  await settle();
  const v3 = t.states.at(-1)!.children.get("member_0000000001")!.version;
  strictEqual(new Set([v1, v2, v3]).size, 3, "deleted and created again: new version");
  t.watch.stop();
});

Deno.test("children watch: a path that does not exist is reported, then picked up when created; deleted and created again", async () => {
  const t = setup();
  t.watch.start();
  await settle();
  deepStrictEqual(t.updates, ["(no path)"]);
  t.zk.create("/sd/web/member_0000000001", "a");
  await settle();
  strictEqual(t.last(), "member_0000000001=a");
  t.zk.remove("/sd/web/member_0000000001");
  t.zk.remove("/sd/web");
  await settle();
  strictEqual(t.last(), "(no path)");
  t.zk.create("/sd/web/member_0000000002", "b");
  await settle();
  strictEqual(t.last(), "member_0000000002=b");
  t.watch.stop();
});

Deno.test("children watch: a path created between the failed listing and the exists check is read, never reported empty", async () => {
  const t = setup();
  t.zk.beforeReply = (op) => {
    if (op === "exists" && !t.zk.read("/sd/web")) t.zk.create("/sd/web/member_0000000001", "a");
  };
  t.watch.start();
  await settle();
  deepStrictEqual(t.updates, ["member_0000000001=a"]);
  t.watch.stop();
});

Deno.test("children watch: events during a read cause one more read, not one per event", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000000", "0");
  let burst = false;
  t.zk.beforeReply = (op) => {
    if (op !== "getChildren" || burst) return;
    burst = true;
    // Fifty joins while the first listing is on its way.
    for (let i = 1; i <= 50; i++) t.zk.create(`/sd/web/member_${String(i).padStart(10, "0")}`, "x");
  };
  t.watch.start();
  await settle();
  strictEqual(t.states.at(-1)!.children.size, 51);
  strictEqual(t.watch.reads <= 2, true, `${t.watch.reads} reads`);
  t.watch.stop();
});

Deno.test("children watch: changes while disconnected arrive on reconnection, without re-reading unchanged members", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000001", "a");
  t.zk.create("/sd/web/member_0000000002", "b");
  t.watch.start();
  await settle();
  const before = t.reader.calls.getNode;
  t.reader.disconnect();
  t.zk.setData("/sd/web/member_0000000002", "b2");
  t.zk.create("/sd/web/member_0000000003", "c");
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b", "nothing heard while cut off");
  t.reader.reconnect();
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b2 member_0000000003=c");
  strictEqual(t.reader.calls.getNode - before, 2, "the changed and the new member only");
  t.watch.stop();
});

Deno.test("children watch: after the session expired every member is read and watched again on the new session", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000001", "a");
  t.zk.create("/sd/web/member_0000000002", "b");
  t.watch.start();
  await settle();
  strictEqual(t.reader.watchCount, 3, "children + two data watches");
  t.reader.disconnect();
  t.zk.remove("/sd/web/member_0000000001");
  t.zk.setData("/sd/web/member_0000000002", "b2");
  t.reader.expire();
  await settle();
  strictEqual(t.reader.generation, 2);
  strictEqual(t.last(), "member_0000000002=b2");
  strictEqual(t.reader.watchCount, 2, "watches set again on the new session");
  // The new session's watches work.
  t.zk.setData("/sd/web/member_0000000002", "b3");
  await settle();
  strictEqual(t.last(), "member_0000000002=b3");
  t.watch.stop();
});

Deno.test("children watch: a failed read keeps the last result, says why, and is retried; the member it missed is read then", async () => {
  const t = setup("/sd/web", { retryMs: 1000 });
  t.zk.create("/sd/web/member_0000000001", "a");
  t.watch.start();
  await settle();
  const updates = t.updates.length;
  t.reader.failNext("getNode", new ZkOpError("getData: no answer", "timeout"));
  t.zk.create("/sd/web/member_0000000002", "b");
  await settle();
  strictEqual(t.updates.length, updates, "no update from a failed read");
  strictEqual(String(t.watch.failure).includes("no answer"), true, t.watch.failure);
  strictEqual(t.logger.lines.some((l) => l.includes("keeping last known members")), true);
  strictEqual(t.clock.pending, 1, "a retry is scheduled");
  await t.clock.advance(1000);
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b");
  strictEqual(t.watch.failure, undefined);

  // A failed listing too.
  t.reader.failNext("getChildren", new ZkOpError("getChildren: no answer", "timeout"));
  t.zk.create("/sd/web/member_0000000003", "c");
  await settle();
  strictEqual(String(t.watch.failure).includes("no answer"), true);
  await t.clock.advance(1000);
  await settle();
  strictEqual(t.last(), "member_0000000001=a member_0000000002=b member_0000000003=c");
  t.watch.stop();
  strictEqual(t.clock.pending, 0);
});

Deno.test("children watch: a member gone between the listing and its read is left out, not an error", async () => {
  const t = setup();
  t.zk.create("/sd/web/member_0000000001", "a");
  t.zk.create("/sd/web/member_0000000002", "b");
  t.zk.beforeReply = (op, path) => {
    if (op === "getNode" && path.endsWith("member_0000000002") && t.zk.read(path)) {
      t.zk.remove(path);
    }
  };
  t.watch.start();
  await settle();
  strictEqual(t.last(), "member_0000000001=a");
  strictEqual(t.watch.failure, undefined);
  t.watch.stop();
});

Deno.test("children watch: stopped, it reports nothing more and leaves no timer", async () => {
  const t = setup("/sd/web", { retryMs: 1000 });
  t.zk.create("/sd/web/member_0000000001", "a");
  t.watch.start();
  await settle();
  t.reader.failNext("getChildren", new ZkOpError("no answer", "timeout"));
  t.zk.create("/sd/web/member_0000000002", "b");
  await settle();
  strictEqual(t.clock.pending, 1);
  t.watch.stop();
  strictEqual(t.clock.pending, 0);
  const n = t.updates.length;
  t.zk.create("/sd/web/member_0000000003", "c");
  t.reader.expire();
  await settle();
  strictEqual(t.updates.length, n);
});

Deno.test("children watch: members removed together are reported as one step, never one at a time from the cached names", async () => {
  const t = setup();
  for (const i of [1, 2, 3]) t.zk.create(`/sd/web/member_000000000${i}`, `${i}`);
  t.watch.start();
  await settle();
  const before = t.updates.length;
  // A job killed: every member's data watch and the children watch fire together.
  for (const i of [1, 2, 3]) t.zk.remove(`/sd/web/member_000000000${i}`);
  await settle();
  deepStrictEqual(t.updates.slice(before), [""], "one update: no member");
  t.zk.create("/sd/web/member_0000000004", "4");
  t.zk.create("/sd/web/member_0000000005", "5");
  await settle();
  t.zk.remove("/sd/web/member_0000000004");
  t.zk.remove("/sd/web/member_0000000005");
  t.zk.remove("/sd/web");
  await settle();
  strictEqual(t.last(), "(no path)");
  strictEqual(
    t.updates.some((u) => u === "member_0000000005=5"),
    false,
    `a list that never existed after the removals: ${t.updates.join(" | ")}`,
  );
  t.watch.stop();
});
