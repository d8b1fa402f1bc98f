import { deepStrictEqual, strictEqual } from "node:assert";
import { HostResolver, type LookupFn } from "../../lib/pipeline/host_resolver.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { FakeClock } from "../../testing/fake_clock.ts";

/** A name table the test edits, standing in for DNS; counts the lookups. */
function table(entries: Record<string, string | Error | "hang">) {
  const asked: string[] = [];
  const lookup: LookupFn = (host) => {
    asked.push(host);
    const v = entries[host];
    if (v === "hang") return new Promise(() => {});
    if (v === undefined) return Promise.reject(new Error(`getaddrinfo ENOTFOUND ${host}`));
    return v instanceof Error ? Promise.reject(v) : Promise.resolve(v);
  };
  return { entries, asked, lookup };
}

function resolver(lookup: LookupFn, clock = new FakeClock()) {
  const logger = memoryLogger();
  const metrics = new MetricsRegistry("aurproxy");
  const r = new HostResolver({ clock, logger, metrics, lookup, refreshMs: 30_000, retryMs: 5000 });
  return { r, clock, logger, metrics };
}

Deno.test("host resolver: IP literals need no lookup; names are looked up once, then cached", async () => {
  const t = table({ "agent1.example.com": "10.0.0.1" });
  const { r } = resolver(t.lookup);
  deepStrictEqual(r.addressOf("10.0.0.9"), { address: "10.0.0.9" });
  deepStrictEqual(r.addressOf("::1"), { address: "::1" });
  deepStrictEqual(r.addressOf("agent1.example.com"), { error: "not resolved yet" });
  await r.resolve(["agent1.example.com", "10.0.0.9", "agent1.example.com"]);
  await r.resolve(["agent1.example.com"]);
  deepStrictEqual(r.addressOf("agent1.example.com"), { address: "10.0.0.1" });
  deepStrictEqual(t.asked, ["agent1.example.com"]);
});

Deno.test("host resolver: a name that never resolved is skipped, counted and retried at most every retry period", async () => {
  const t = table({});
  const { r, clock, logger, metrics } = resolver(t.lookup);
  await r.resolve(["gone.example.com"]);
  const res = r.addressOf("gone.example.com");
  strictEqual("error" in res && res.error.includes("ENOTFOUND"), true, JSON.stringify(res));
  strictEqual(metrics.get("dns_lookup_failures_total"), 1);
  strictEqual(logger.lines.some((l) => l.includes("cannot resolve gone.example.com")), true);
  await r.resolve(["gone.example.com"]); // too soon: not asked again
  strictEqual(t.asked.length, 1);
  await clock.advance(5000);
  t.entries["gone.example.com"] = "10.0.0.7"; // the record appears
  await r.resolve(["gone.example.com"]);
  deepStrictEqual(r.addressOf("gone.example.com"), { address: "10.0.0.7" });
});

Deno.test("host resolver: a DNS outage keeps the last address; a changed address signals an update", async () => {
  const t = table({ "a.example.com": "10.0.0.1", "b.example.com": "10.0.0.2" });
  const { r, clock, logger } = resolver(t.lookup);
  let changes = 0;
  r.start(() => changes++);
  await r.resolve(["a.example.com", "b.example.com"]);
  t.entries["a.example.com"] = new Error("getaddrinfo EAI_AGAIN a.example.com");
  t.entries["b.example.com"] = "10.0.0.22";
  r.addressOf("a.example.com"); // both still in use
  r.addressOf("b.example.com");
  await clock.advance(30_000);
  deepStrictEqual(r.addressOf("a.example.com"), { address: "10.0.0.1" });
  deepStrictEqual(r.addressOf("b.example.com"), { address: "10.0.0.22" });
  strictEqual(changes, 1);
  strictEqual(logger.lines.some((l) => l.includes("keeping its last address 10.0.0.1")), true);
  // Nothing changes on the next refresh: no update.
  await clock.advance(30_000);
  strictEqual(changes, 1);
  r.stop();
  strictEqual(clock.pending, 0);
});

Deno.test("host resolver: names nobody asks for any more are forgotten", async () => {
  const t = table({ "a.example.com": "10.0.0.1", "b.example.com": "10.0.0.2" });
  const { r, clock } = resolver(t.lookup);
  r.start(() => {});
  await r.resolve(["a.example.com", "b.example.com"]);
  t.asked.length = 0;
  for (let i = 0; i < 3; i++) {
    r.addressOf("a.example.com"); // b left the registry
    await clock.advance(30_000);
  }
  strictEqual(t.asked.filter((h) => h === "a.example.com").length, 3);
  // b had been asked for since the previous refresh once more, then never again.
  strictEqual(t.asked.filter((h) => h === "b.example.com").length, 1);
  deepStrictEqual(r.addressOf("b.example.com"), { error: "not resolved yet" });
  r.stop();
});

Deno.test("host resolver: a lookup that hangs fails after the timeout instead of holding the update", async () => {
  const t = table({ "slow.example.com": "hang" });
  const clock = new FakeClock();
  const r = new HostResolver({ clock, logger: memoryLogger(), lookup: t.lookup, timeoutMs: 2000 });
  const done = r.resolve(["slow.example.com"]);
  await clock.advance(2000);
  await done;
  const res = r.addressOf("slow.example.com");
  strictEqual("error" in res && res.error.includes("no answer within 2000 ms"), true);
  strictEqual(clock.pending, 0);
});
