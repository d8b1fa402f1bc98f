/**
 * The same snapshot through a real nginx and a real HAProxy, the same requests to both:
 * HAProxy's routing must pick what nginx picks (virtual host by `Host`, location by
 * path, health route, blacklist, empty route, unknown path), answering with the same
 * status, and for a proxied request the same endpoint. nginx picks the location by the
 * normalised path (percent-decoded, `//` merged, `.` and `..` resolved) and forwards the
 * request as it came: encoded and un-normalised paths must neither slip past the
 * blacklist nor reach another route, and must reach the upstream unchanged.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { HaproxyBackend } from "../../lib/backends/haproxy/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { startBackend, startKeepAliveBackend } from "../../testing/backend.ts";
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
  // Records the request lines it receives: what each proxy forwards.
  const raw = startKeepAliveBackend();
  const nPort = freePort();
  const hPort = freePort();
  const snap = (port: number) =>
    snapshot([
      {
        hosts: ["www.example.com", "example.com"],
        ports: [port],
        healthcheckRoute: "/healthcheck",
        context: { location_blacklist: ["/api/internal", "= /secret", "/admin"] },
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
        hosts: ["raw.test"],
        ports: [port],
        context: { location_blacklist: ["/admin"] },
        routes: [{ locations: ["/"], ports: [raw.port] }],
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
    // Encoded and un-normalised forms of blacklisted, exact and prefix locations.
    const odd = [
      "/admin",
      "/%61dmin",
      "/%2561dmin", // decoded once: "/%61dmin", not a blacklisted path
      "//admin",
      "/x/../admin",
      "/./admin",
      "/admin/",
      "/ADMIN", // locations are case-sensitive
      "/..", // above the root: 400
      "/../admin",
      "/%2e%2e/admin",
      "/x/../../admin",
      "/admin?x=1",
      "/%2F%61dmin",
      "/x/.%2e/admin",
      "/x/..%2Fadmin",
      "/admin/.",
      "/x/..",
      "/.",
      "/a/b/c/../../../admin",
      `/${"s/".repeat(8)}${"../".repeat(8)}admin`, // as many `..` in a row as HAProxy resolves
      "/...",
      "/%zz", // a bad escape: 400
      "/a%00b", // a NUL: 400
      "/a%2Fb",
      "//api/x",
      "/api%2Fx",
      "/%61pi/x",
      "//api",
      "/api/%2e",
      "/api//internal/x",
      "/api/v2/../internal/x",
      "/api/./v2/x",
      "/api/v2/%2e%2e/v2/x",
      "/api/%65xact",
      "//api/exact",
      "/api/exact/.",
      "/api/x/../exact",
      "/secret?x",
      "/%73ecret",
      "/x/../secret",
      "/secret/.",
      "//healthcheck",
      "/%68ealthcheck",
      "/empty/./x",
      "/x/../empty/x",
    ];
    for (const path of odd) requests.push(["example.com", path]);
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
    // The upstream gets the request line as the client sent it, from either proxy.
    const forwarded = async (port: number) => {
      raw.requests.length = 0;
      const out: string[] = [];
      for (const path of odd) {
        const r = await httpGet(port, path, { host: "raw.test" });
        out.push(`${path} -> ${r.status}`);
      }
      return [...out, ...raw.requests.map((l) => l.replace(/ HTTP\/1\.[01]$/, ""))];
    };
    const viaNginx = await forwarded(nPort);
    deepStrictEqual(await forwarded(hPort), viaNginx);
    for (const line of ["GET //api/x", "GET /api/v2/%2e%2e/v2/x", "GET /%2561dmin"]) {
      ok(viaNginx.includes(line), `${line} forwarded as sent`);
    }
    // The documented differences, all refusals where nginx routes: a longer run of `..`
    // (nginx resolves it: 403 here), a raw `#` (nginx drops the fragment), an
    // absolute-form request line without a path (nginx takes it as `/`).
    for (
      const [path, n] of [
        [`/${"s/".repeat(9)}${"../".repeat(9)}admin`, 403],
        ["/admin#x", 403],
        ["http://example.com", 200],
      ] as const
    ) {
      const via = async (port: number) =>
        (await httpGet(port, path, { host: "example.com" })).status;
      deepStrictEqual([await via(hPort), await via(nPort)], [400, n], path);
    }
    const unmatched = await httpGet(hPort, "/x", { host: "api.example.net" });
    strictEqual(unmatched.status, 404);
    const redirect = await httpGet(hPort, "/api?q=1", { host: "example.com" });
    deepStrictEqual([redirect.status, redirect.headers["location"]], [301, "/api/?q=1"]);
  } finally {
    await h.stop();
    await nginx.stop();
    for (const x of Object.values(b)) await x.close();
    await raw.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
