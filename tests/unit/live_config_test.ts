import { deepStrictEqual, strictEqual } from "node:assert";
import type { LiveUpstreams } from "../../lib/backends/backend.ts";
import { parseLiveUpstreams } from "../../lib/backends/nginx/live_config.ts";
import { renderNginx } from "../../lib/backends/nginx/render.ts";
import { parseConfig } from "../../lib/kinds.ts";
import type { PoolMember } from "../../lib/model/pool_member.ts";
import { buildSnapshot } from "../../lib/pipeline/snapshot_builder.ts";
import { liveEndpointsOf } from "../../lib/pipeline/topology.ts";
import { ListSource } from "../../lib/sources/list_source.ts";

const member = (
  source: string,
  host: string,
  port: number,
  o: { address?: string; share?: number } = {},
): PoolMember => ({
  endpoint: { host, port, ports: { default: port } },
  source,
  address: o.address,
  factors: o.share === undefined ? [] : [{ name: "health", share: o.share, detail: "test" }],
});

const source = (name: string) => ({ source_class: "static", name, host: "127.0.0.1", port: 1 });

Deno.test("live config: every upstream aurproxy renders reads back as its servers: weights, standby overflow, registry names, IPv6; weight-0 lines take no traffic and are left out", () => {
  const config = parseConfig({
    backend: "nginx",
    servers: [{
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [source("a"), source("b")],
        overflow_sources: [source("c")],
      }],
    }, { ports: [9000], streams: [{ sources: [source("t")] }] }],
  });
  const [route] = config.servers[0].routes;
  const [stream] = config.servers[1].streams;
  const members = new Map([
    [route, {
      primary: [
        member("static.a", "web-1.example", 9001, { address: "10.0.0.1" }),
        member("static.a", "10.0.0.2", 9002, { share: 0 }),
        member("static.b", "::1", 9003),
      ],
      overflow: [member("static.c", "10.0.0.9", 9009)],
    }],
    [stream, { primary: [member("static.t", "10.0.1.1", 5432)], overflow: [] }],
  ]);
  const snap = buildSnapshot(config, (p) => members.get(p as typeof route)!, {
    adjust: true,
    now: 0,
  });
  const text = renderNginx(snap, { pidPath: "/run/nginx.pid" });
  const live = parseLiveUpstreams(text);
  deepStrictEqual([...live.keys()].sort(), [route.slug, stream.slug].sort());
  deepStrictEqual(live.get(route.slug), [
    {
      host: "web-1.example",
      address: "10.0.0.1",
      port: 9001,
      weight: snap.servers[0].routes[0].endpoints[0].weight,
      pool: "primary",
      source: "static.a",
    },
    {
      host: "::1",
      address: "::1",
      port: 9003,
      weight: snap.servers[0].routes[0].endpoints[2].weight,
      pool: "primary",
      source: "static.b",
    },
    {
      host: "10.0.0.9",
      address: "10.0.0.9",
      port: 9009,
      weight: 0,
      pool: "overflow",
      source: "static.c",
    },
  ]);
  strictEqual(text.includes("# server 10.0.0.2:9002 (weight 0)"), true, "rendered, commented out");
  deepStrictEqual(live.get(stream.slug)?.map((s) => [s.address, s.port, s.source]), [
    ["10.0.1.1", 5432, "static.t"],
  ]);
});

Deno.test("live config: lines a hand-edit broke or made hostile are skipped; servers outside upstream blocks are not servers", () => {
  const text = `
http {
    upstream web {
        least_conn;
        server 10.0.0.1:80 weight=2; # primary | src=s | base=1
        server 10.0.0.2:80 down; # primary | src=s
        server 10.0.0.3:0 weight=1; # primary | src=s
        server bad;host:80 weight=1;
        server 10.0.0.4:80; # primary | src=s | host=evil; }
        server 10.0.0.5:80 weight=1;
    }
    server {
        listen 8080;
    }
}`;
  deepStrictEqual(parseLiveUpstreams(text).get("web"), [
    { host: "10.0.0.1", address: "10.0.0.1", port: 80, weight: 2, pool: "primary", source: "s" },
    { host: "10.0.0.4", address: "10.0.0.4", port: 80, weight: 1, pool: "primary", source: "s" },
    { host: "10.0.0.5", address: "10.0.0.5", port: 80, weight: 1, pool: "primary" },
  ]);
  strictEqual(parseLiveUpstreams("").size, 0);
});

Deno.test("live config: each source is given the servers named for it in its pool; a lone source renamed since takes its upstream's unnamed lines, never another source's", () => {
  const server = (host: string, port: number, pool: "primary" | "overflow", src?: string) => ({
    host,
    address: host,
    port,
    weight: 1,
    pool,
    ...(src ? { source: src } : {}),
  });
  const live: LiveUpstreams = {
    from: "the live nginx config",
    file: "/etc/nginx.conf",
    upstreams: new Map([
      ["web", [
        server("10.0.0.1", 80, "primary", "a"),
        server("10.0.0.2", 80, "primary", "b"),
        server("10.0.0.1", 80, "primary", "a"), // the same endpoint twice: once
        server("10.0.0.9", 80, "overflow", "a"),
      ]],
      ["api", [
        server("10.0.1.1", 81, "primary", "old-name"),
        server("10.0.1.2", 81, "primary", "a"),
      ]],
    ]),
  };
  const [a, b, renamed] = ["a", "b", "new-name"].map((n) => new ListSource(n, []));
  const names = new Set(["a", "b", "new-name"]);
  const keys = (m: Map<unknown, { host: string; port: number }[]>, s: unknown) =>
    m.get(s)?.map((e) => `${e.host}:${e.port}`);
  const web = liveEndpointsOf(live, "web", "primary", [a, b], names);
  deepStrictEqual(keys(web, a), ["10.0.0.1:80", "10.0.1.2:81"]);
  deepStrictEqual(keys(web, b), ["10.0.0.2:80"]);
  deepStrictEqual(keys(liveEndpointsOf(live, "web", "overflow", [a], names), a), ["10.0.0.9:80"]);
  deepStrictEqual(keys(liveEndpointsOf(live, "api", "primary", [renamed], names), renamed), [
    "10.0.1.1:81",
  ]);
  strictEqual(liveEndpointsOf(live, "web", "primary", [renamed], names).size, 0);
  strictEqual(web.get(a)?.[0].origin, "/etc/nginx.conf (upstream web)");
  deepStrictEqual(web.get(a)?.[0].ports, {});
});
