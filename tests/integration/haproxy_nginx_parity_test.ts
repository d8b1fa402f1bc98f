/**
 * The same snapshot through a real nginx and a real HAProxy, the same requests to both:
 * HAProxy's routing must pick what nginx picks (virtual host by `Host`, location by
 * path, health route, blacklist, empty route, unknown path), answering with the same
 * status, and for a proxied request the same endpoint.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { HaproxyBackend } from "../../lib/backends/haproxy/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { startBackend } from "../../testing/backend.ts";
import { haproxyOptions, runHaproxy } from "../../testing/haproxy_rig.ts";
import { httpGet } from "../../testing/http.ts";
import { startNginx } from "../../testing/nginx.ts";
import { freePort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

Deno.test("haproxy and nginx route the same requests to the same place", async () => {
  const names = ["root", "api", "apiv2", "exact", "wild", "trail", "other", "def"];
  const b = Object.fromEntries(
    await Promise.all(names.map(async (n) => [n, await startBackend({ name: n })] as const)),
  );
  const nPort = freePort();
  const hPort = freePort();
  const snap = (port: number) =>
    snapshot([
      {
        hosts: ["www.example.com", "example.com"],
        ports: [port],
        healthcheckRoute: "/healthcheck",
        context: { location_blacklist: ["/api/internal", "= /secret"] },
        routes: [
          { locations: ["/"], ports: [b.root.port] },
          { locations: ["/api/"], ports: [b.api.port] },
          { locations: ["^~ /api/v2/"], ports: [b.apiv2.port] },
          { locations: ["= /api/exact"], ports: [b.exact.port] },
          { locations: ["/empty/"], ports: [], emptyEndpointStatusCode: 429 },
        ],
      },
      {
        hosts: ["*.example.com"],
        ports: [port],
        routes: [{ locations: ["/"], ports: [b.wild.port] }],
      },
      {
        hosts: ["api.*"],
        ports: [port],
        routes: [{ locations: ["/only/"], ports: [b.trail.port] }],
      },
      {
        hosts: ["other.org"],
        ports: [port],
        routes: [{ locations: ["/"], ports: [b.other.port] }],
      },
      {
        hosts: ["default"],
        ports: [port],
        context: { default_server: "True" },
        routes: [{ locations: ["/"], ports: [b.def.port] }],
      },
    ]);
  const nginx = await startNginx(snap(nPort), [nPort]);
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-parity-" });
  const haproxy = new HaproxyBackend(haproxyOptions(dir), {
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
  });
  await haproxy.apply(snap(hPort), { reload: false });
  const h = await runHaproxy(haproxy.options, [hPort]);
  try {
    const requests: [string, string][] = [];
    for (
      const host of [
        "www.example.com",
        "EXAMPLE.com:8080",
        "deep.sub.example.com",
        "api.example.net",
        "other.org",
        "unknown.net",
      ]
    ) {
      for (
        const path of [
          "/",
          "/x",
          "/api",
          "/api/",
          "/api/x",
          "/api/v2/x",
          "/api/exact",
          "/api/exact/x",
          "/api/internal/x",
          "/secret",
          "/secret/x",
          "/healthcheck",
          "/healthcheck/deep",
          "/empty/x",
          "/only/x",
        ]
      ) {
        // api.* has no "/": nginx would serve its document root where no location
        // matches (a 403 here); HAProxy answers 404 (below).
        if (host !== "api.example.net" || path.startsWith("/only/")) {
          requests.push([host, path]);
        }
      }
    }
    const answer = async (port: number, host: string, path: string) => {
      const r = await httpGet(port, path, { host });
      // Error pages differ in wording; which endpoint answered must not.
      return `${r.status} ${r.status === 200 ? r.body : ""}`;
    };
    const via = async (port: number) => {
      const out: string[] = [];
      for (const [host, path] of requests) {
        out.push(`${host} ${path} -> ${await answer(port, host, path)}`);
      }
      return out;
    };
    deepStrictEqual(await via(hPort), await via(nPort));
    const unmatched = await httpGet(hPort, "/x", { host: "api.example.net" });
    strictEqual(unmatched.status, 404);
    const redirect = await httpGet(hPort, "/api?q=1", { host: "example.com" });
    deepStrictEqual([redirect.status, redirect.headers["location"]], [301, "/api/?q=1"]);
  } finally {
    await h.stop();
    await nginx.stop();
    for (const x of Object.values(b)) await x.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
