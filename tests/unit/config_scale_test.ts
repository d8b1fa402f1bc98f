import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { slugAllocator } from "../../lib/config/slugs.ts";
import { parseConfig } from "../../lib/kinds.ts";
import { bigConfig } from "../../testing/big_config.ts";
import { configErrors } from "../../testing/usage_errors.ts";

/** Seconds `f` takes. */
function seconds(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

// Checking every pair of servers for a port clash took 26 s for 20,000 virtual hosts on
// one port; indexed by port and name it takes ~0.2 s. The bound is loose for a loaded
// machine, and still far below what a check of every pair costs.
Deno.test("config scale: 20,000 servers parse in seconds, on one port by name or each on its own", () => {
  for (const spread of ["hosts", "ports"] as const) {
    const raw = bigConfig(20_000, { spread, basePort: 30000 });
    let servers = 0;
    const took = seconds(() => servers = parseConfig(raw).servers.length);
    strictEqual(servers, 20_000);
    ok(took < 5, `${spread}: ${took.toFixed(2)} s`);
  }
  const raw = bigConfig(3, { top: { stats_port: 8081 } });
  const c = parseConfig(raw);
  deepStrictEqual(c.servers.map((s) => s.hosts), [
    ["s0.example.com"],
    ["s1.example.com"],
    ["s2.example.com"],
  ]);
  deepStrictEqual(c.servers.map((s) => s.slug), [
    "s_s0_example_com_20000",
    "s_s1_example_com_20000",
    "s_s2_example_com_20000",
  ]);
});

Deno.test("config scale: every clashing pair is still reported, in the order of the pairs", () => {
  const raw = bigConfig(6, { basePort: 80 }) as { servers: Record<string, unknown>[] };
  const [, s1, s2, s3, s4, s5] = raw.servers;
  // s0, s2 and s4 answer one name; s1 and s3 are both default_server; s5 is TCP.
  s2.hosts = s4.hosts = ["A.example.com", "s0.example.com"];
  s1.context = { default_server: "True" };
  s3.context = { default_server: true };
  s5.ports = [81, 80];
  s5.streams = (s5.routes as unknown[]).map((r) => ({
    sources: (r as { sources: unknown }).sources,
  }));
  delete s5.routes;
  delete s5.hosts;
  const clash = (b: number, a: number, why: string) =>
    `servers[${b}].ports: port 80 is also used by servers[${a}]: ${why}`;
  const NAMES = "both answer the same host names";
  const TCP = "a TCP (streams) server cannot share its port";
  deepStrictEqual(configErrors(raw), [
    clash(2, 0, NAMES),
    clash(4, 0, NAMES),
    clash(5, 0, TCP),
    clash(3, 1, "both are default_server"),
    clash(5, 1, TCP),
    clash(4, 2, NAMES),
    clash(5, 2, TCP),
    clash(5, 3, TCP),
    clash(5, 4, TCP),
  ]);
});

Deno.test("config scale: slugs stay unique and as before when many servers share a base", () => {
  const unique = slugAllocator();
  const got = ["x", "x", "x_2", "x", "y", "x_3"].map(unique);
  deepStrictEqual(got, ["x", "x_2", "x_2_2", "x_3", "y", "x_3_2"]);
  const many = Array.from({ length: 20_000 }, () => unique("s_any_80"));
  strictEqual(new Set(many).size, many.length);
  strictEqual(many.at(-1), "s_any_80_20000");
});
