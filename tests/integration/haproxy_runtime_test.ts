// The runtime API client against a real HAProxy 2.6 (testing/haproxy.ts) and real
// backends: changes made through it show in `show servers state` and in who answers
// requests, with HAProxy's pids unchanged; its failures name the command and HAProxy's
// reply; a missing or silent socket ends in a clean, bounded error.
import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert";
import { RuntimeApi } from "../../lib/backends/haproxy/runtime_api.ts";
import { RuntimeApiError } from "../../lib/backends/haproxy/runtime_error.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { simpleHttpConfig, startHaproxy, type TestHaproxy } from "../../testing/haproxy.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort } from "../../testing/ports.ts";

interface Rig {
  readonly port: number;
  readonly a: TestBackend;
  readonly b: TestBackend;
  readonly c: TestBackend;
  readonly h: TestHaproxy;
}

/** HAProxy on a fresh port balancing `a` and `b` (round robin, weight 1 each), 2 free slots. */
async function withRig(fn: (r: Rig) => Promise<void>): Promise<void> {
  const [a, b, c] = await Promise.all(["a", "b", "c"].map((name) => startBackend({ name })));
  const port = freePort();
  let h: TestHaproxy | undefined;
  try {
    h = await startHaproxy(
      (p) =>
        simpleHttpConfig(p.statsSocket, {
          port,
          servers: [
            { name: "a", address: "127.0.0.1", port: a.port },
            { name: "b", address: "127.0.0.1", port: b.port },
          ],
          slots: 2,
        }),
      [port],
    );
    await fn({ port, a, b, c, h });
  } finally {
    await h?.stop();
    await Promise.all([a.close(), b.close(), c.close()]);
  }
}

/** Who answered each of `n` requests (a new connection each), counted by name. */
async function served(port: number, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await httpGet(port, "/");
    const who = r.status === 200 ? r.body : `status ${r.status}`;
    out[who] = (out[who] ?? 0) + 1;
  }
  return out;
}

const rejectsWith = (p: Promise<unknown>, kind: RuntimeApiError["kind"], reply: RegExp) =>
  rejects(p, (e: unknown) => {
    ok(e instanceof RuntimeApiError, String(e));
    assertEquals(e.kind, kind, e.message);
    ok(reply.test(e.reply), e.message);
    return true;
  });

Deno.test("haproxy runtime: a weight change shows in servers state and in traffic, pids unchanged", async () => {
  await withRig(async ({ port, h }) => {
    const pids = await h.pids();
    assertEquals(await served(port, 40), { a: 20, b: 20 });
    await h.api.setWeight("b", "a", 3);
    const state = await h.api.showServersState("b");
    assertEquals(state.find((s) => s.server === "a")?.weight, 3);
    assertEquals(state.find((s) => s.server === "a")?.initialWeight, 1);
    // Round robin at 3:1 over 80 requests.
    assertEquals(await served(port, 80), { a: 60, b: 20 });
    assertEquals(await h.pids(), pids);
  });
});

Deno.test("haproxy runtime: a server in maint gets no traffic, back in traffic once ready", async () => {
  await withRig(async ({ port, h }) => {
    await h.api.setState("b", "a", "maint");
    assertEquals(
      (await h.api.showServersState("b")).find((s) => s.server === "a")?.adminState,
      "maint",
    );
    assertEquals(await served(port, 20), { b: 20 });
    await h.api.setState("b", "a", "ready");
    assertEquals(await served(port, 20), { a: 10, b: 10 });
  });
});

Deno.test("haproxy runtime: a free slot given an address and made ready takes traffic", async () => {
  await withRig(async ({ port, c, h }) => {
    const pids = await h.pids();
    assertEquals(await served(port, 10), { a: 5, b: 5 });
    await h.api.setAddr("b", "slot1", "127.0.0.1", c.port);
    await h.api.setState("b", "slot1", "ready");
    const slot = (await h.api.showServersState("b")).find((s) => s.server === "slot1");
    assertEquals([slot?.address, slot?.port, slot?.adminState], ["127.0.0.1", c.port, "ready"]);
    assertEquals(await served(port, 30), { a: 10, b: 10, c: 10 });
    // And freed again: its traffic stops.
    await h.api.setState("b", "slot1", "maint");
    assertEquals(await served(port, 10), { a: 5, b: 5 });
    assertEquals(await h.pids(), pids);
  });
});

Deno.test("haproxy runtime: add server joins in maintenance, ready takes traffic, del only from maint", async () => {
  await withRig(async ({ port, c, h }) => {
    const pids = await h.pids();
    // 2.6 takes `add server` without `experimental-mode on`.
    await h.api.addServer("b", "dyn", { address: "127.0.0.1", port: c.port, weight: 2 });
    const added = (await h.api.showServersState("b")).find((s) => s.server === "dyn");
    assertEquals([added?.adminState, added?.weight], ["maint", 2]);
    assertEquals(await served(port, 10), { a: 5, b: 5 });
    await h.api.setState("b", "dyn", "ready");
    assertEquals(await served(port, 40), { a: 10, b: 10, c: 20 });
    await rejectsWith(h.api.delServer("b", "dyn"), "reply", /^Only servers in maintenance mode/);
    await h.api.setState("b", "dyn", "maint");
    await h.api.delServer("b", "dyn");
    ok(!(await h.api.showServersState("b")).some((s) => s.server === "dyn"));
    await rejectsWith(
      h.api.addServer("b", "a", { address: "127.0.0.1", port: c.port }),
      "reply",
      /./,
    );
    assertEquals(await h.pids(), pids);
  });
});

Deno.test("haproxy runtime: failure replies name the command and HAProxy's words", async () => {
  await withRig(async ({ h }) => {
    await rejects(h.api.setWeight("b", "nope", 3), (e: unknown) => {
      ok(e instanceof RuntimeApiError);
      assertEquals([e.kind, e.command, e.reply], [
        "reply",
        "set server b/nope weight 3",
        "No such server.",
      ]);
      ok(e.message.includes(h.paths.statsSocket));
      return true;
    });
    await rejectsWith(h.api.setWeight("nob", "a", 3), "reply", /^No such backend/);
    await rejectsWith(h.api.setWeight("b", "a", 300), "reply", /0\.\.256/);
    await rejectsWith(h.api.setAddr("b", "a", "999.1.1.1", 80), "reply", /^Invalid addr/);
    await rejectsWith(
      h.api.checked("set server b weight 1"),
      "reply",
      /^Require 'backend\/server'/,
    );
    await rejectsWith(h.api.checked("frobnicate"), "reply", /^Unknown command/);
    await rejectsWith(h.api.showServersState("nob"), "reply", /./);
    // A batch runs every command and reports each one's answer.
    const replies = await h.api.batch([
      "set server b/a weight 4",
      "set server b/nope weight 4",
      "set server b/b weight 5",
    ]);
    assertEquals(replies.map((r) => r.failure), [undefined, "No such server.", undefined]);
    const weights = (await h.api.showServersState("b")).map((s) => [s.server, s.weight]);
    assertEquals(weights.slice(0, 2), [["a", 4], ["b", 5]]);
  });
});

Deno.test("haproxy runtime: a batch of 100 commands goes in one connection", async () => {
  const port = freePort();
  const h = await startHaproxy(
    (p) => simpleHttpConfig(p.statsSocket, { port, servers: [], slots: 100 }),
    [port],
  );
  try {
    const commands = Array.from(
      { length: 100 },
      (_, i) => `set server b/slot${i + 1} weight ${i + 1}`,
    );
    const replies = await h.api.batch(commands);
    assertEquals(replies.filter((r) => r.failure), []);
    const state = await h.api.showServersState("b");
    assertEquals(state.map((s) => s.weight), commands.map((_, i) => i + 1));
  } finally {
    await h.stop();
  }
});

Deno.test("haproxy runtime: a missing socket is a connect error, a silent one times out", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-hapi-" });
  const path = `${dir}/silent.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) held.push(c);
    } catch {
      // Closed below.
    }
  })();
  try {
    await rejectsWith(
      new RuntimeApi({ socketPath: `${dir}/none.sock` }).setWeight("b", "a", 1),
      "connect",
      /./,
    );
    const silent = new RuntimeApi({ socketPath: path, timeoutMs: 200 });
    const t0 = performance.now();
    await rejectsWith(silent.showServersState(), "timeout", /200 ms/);
    const took = performance.now() - t0;
    ok(took >= 190 && took < 2000, `took ${took} ms`);
  } finally {
    listener.close();
    await accepting;
    for (const c of held) c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("haproxy master CLI: show proc, a reload replaces the worker, a bad config keeps it", async () => {
  await withRig(async ({ port, h }) => {
    const before = await h.procs();
    assertEquals(before.master.pid, h.pid);
    assertEquals(before.workers.length, 1);
    const after = await h.master.reload();
    assertEquals(after.master.pid, h.pid);
    assertEquals(after.failedReloads, 0);
    ok(after.workers[0].pid !== before.workers[0].pid, "a new worker");
    assertEquals(await served(port, 4), { a: 2, b: 2 });

    const good = await Deno.readTextFile(h.paths.configFile);
    await Deno.writeTextFile(h.paths.configFile, `${good}  no_such_keyword\n`);
    await rejectsWith(h.master.reload(), "reply", /did not load/);
    assertEquals((await h.pids()).workers, after.workers.map((w) => w.pid));
    assertEquals(await served(port, 4), { a: 2, b: 2 });
  });
});
