// The dashboard (/status) in a real headless Chromium (puppeteer-core on Debian's
// chromium) against a running aurproxy with real nginx and ZooKeeper: the page shows
// every endpoint with bars proportional to the weights nginx runs, a member that joins in
// ZooKeeper appears in the table and the timeline without a reload, a failing health
// check turns its row, the page without JavaScript is still the table, and text from
// outside stays text. A screenshot at 1280 px is kept for a reviewer (its path printed).
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { Browser, Page } from "puppeteer-core";
import { buildDashboardModel } from "../../lib/management/dashboard/model.ts";
import { renderDashboard } from "../../lib/management/dashboard/page.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { serverSetMemberJson } from "../../lib/zk/announcer.ts";
import { nginxKeys, type Stack, startStack } from "../../testing/aurproxy_stack.ts";
import { startBackend, type TestBackend } from "../../testing/backend.ts";
import { launchBrowser } from "../../testing/browser.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { startZooKeeper, type TestZooKeeper } from "../../testing/zookeeper.ts";

const JOB = "/aurora/www-data/prod/web";
const HEALTH = "tellapart.aurproxy.share.adjusters.HttpHealthCheckShareAdjuster";
const RAMP = "tellapart.aurproxy.share.adjusters.RampingShareAdjuster";
/** Bar widths are whole or sub-pixels of a 110 px track: allow a pixel and a half. */
const PX_TOLERANCE = 1.5;

interface Row {
  endpoint: string;
  weight: number;
  width: number;
  track: number;
  cls: string;
}

/** Every endpoint row as the browser lays it out. */
function rows(page: Page): Promise<Row[]> {
  return page.$$eval("tr.ep[data-endpoint]", (trs) =>
    trs.map((tr) => ({
      endpoint: tr.getAttribute("data-endpoint") ?? "",
      weight: Number(tr.getAttribute("data-weight")),
      width: tr.querySelector(".fill")!.getBoundingClientRect().width,
      track: tr.querySelector(".bar")!.getBoundingClientRect().width,
      cls: tr.className,
    })));
}

/** `host:port` → weight, from the nginx config aurproxy rendered. */
async function nginxWeights(conf: string): Promise<Map<string, number>> {
  const text = await Deno.readTextFile(conf);
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^\s*server (\S+) weight=(\d+)/gm)) out.set(m[1], Number(m[2]));
  return out;
}

/** A page of a synthetic state with hostile and very long text, rendered as /status would. */
function hostilePage(): string {
  const now = Date.now();
  const hostile = `<img src=x onerror="window.__pwned=1">`;
  const snap: ProxySnapshot = {
    context: {},
    builtAt: now,
    adjustmentDelayed: false,
    servers: [{
      slug: "s",
      hosts: [hostile],
      ports: [80],
      context: {},
      streams: [],
      routes: [{
        slug: "u",
        locations: ["/"],
        emptyEndpointStatusCode: 503,
        failOpen: false,
        notes: [],
        skipped: [],
        endpoints: [{
          host: hostile,
          address: hostile,
          port: 80,
          weight: 1000,
          fraction: 1,
          share: 1,
          pool: "primary",
          source: hostile,
          factors: [],
          audit: [hostile],
        }],
      }],
    }],
  };
  const connectString = Array.from({ length: 12 }, (_, i) => `zk-${i}.a-long-ensemble.example:2181`)
    .join(",");
  const m = buildDashboardModel({
    snapshot: snap,
    health: { level: "degraded", lines: [hostile] },
    version: "0.1.0",
    now,
    feed: {
      startedAt: now - 90_000,
      version: "0.1.0",
      changes: () => [],
      sources: () => [{
        name: `aurora:${hostile}`,
        status: { healthy: true, detail: "connected, 1 endpoint(s)" },
        registry: {
          connectString,
          zkPath: JOB,
          session: "connected",
          sessionSince: now - 60_000,
          lastEventAt: now - 5_000,
        },
      }],
    },
  });
  return renderDashboard(m, now, '"x"');
}

Deno.test("dashboard in a browser: weight bars, a ZooKeeper join and a failing health check live, no JS, escaping, 1280 px", async () => {
  const t0 = performance.now();
  const zk: TestZooKeeper = await startZooKeeper();
  const backends: TestBackend[] = [];
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-dashboard-" });
  const shots = await Deno.makeTempDir({ prefix: "aurproxy-dashboard-shot-" });
  const port = freePort();
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  try {
    const [a, b, ramped] = await Promise.all(
      ["a", "b", "ramped"].map((name) => startBackend({ name })),
    );
    backends.push(a, b, ramped);
    const admin = await zk.announcer();
    const member = (i: number, be: TestBackend) =>
      admin.createNode(
        `${JOB}/member_${String(i).padStart(10, "0")}`,
        serverSetMemberJson({ host: "127.0.0.1", port: be.port }),
      );
    await member(1, a);
    stack = await startStack({
      dir,
      config: {
        backend: "nginx",
        ...nginxKeys(dir),
        servers: [{
          ports: [port],
          routes: [{
            locations: ["/"],
            sources: [
              {
                source_class: "tellapart.aurproxy.source.AuroraProxySource",
                zk_servers: zk.connectString,
                role: "www-data",
                environment: "prod",
                job: "web",
                share_adjusters: [{
                  share_adjuster_class: HEALTH,
                  route: "/health",
                  interval: 0.3,
                  timeout: 0.25,
                  unhealthy_threshold: 1,
                  healthy_threshold: 1,
                }],
              },
              {
                // Held at min_share (weight 250 against 1000) for the whole test.
                source_class: "static",
                name: "ramped",
                host: "127.0.0.1",
                port: ramped.port,
                share_adjusters: [{
                  share_adjuster_class: RAMP,
                  ramp_delay: 600,
                  ramp_seconds: 60,
                  update_frequency: 60,
                  min_share: 0.25,
                }],
              },
            ],
          }],
        }],
      },
      proxyPorts: [port],
      flags: ["--max-update-frequency=0", "--weight-adjustment-delay-seconds=0"],
    });
    const mgmt = stack.mgmtPort;
    const url = `http://127.0.0.1:${mgmt}/status`;
    const conf = `${dir}/conf/nginx.conf`;
    const [ka, kb, kr] = [a, b, ramped].map((x) => `127.0.0.1:${x.port}`);
    await waitFor("a healthy and live in nginx", async () => {
      const w = await nginxWeights(conf);
      return w.get(ka) === 1000 && w.get(kr) === 250;
    }, 15_000);

    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const scriptErrors: string[] = [];
    page.on("pageerror", (err) => scriptErrors.push(String(err)));
    let navigations = 0;
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    await page.goto(url, { waitUntil: "load" });
    await page.evaluate("window.marker = 42");
    const loads = navigations;

    // Bars: width / track = weight / largest weight, as /status.json and nginx say.
    const status = JSON.parse((await httpGet(mgmt, "/status.json")).body);
    const jsonWeights = new Map<string, number>(
      status.servers[0].routes[0].endpoints.map((
        e: { host: string; port: number; weight: number },
      ) => [`${e.host}:${e.port}`, e.weight]),
    );
    const nginx = await nginxWeights(conf);
    const first = await rows(page);
    deepStrictEqual(first.map((r) => r.endpoint).sort(), [ka, kr].sort());
    const max = Math.max(...first.map((r) => r.weight));
    for (const r of first) {
      strictEqual(r.weight, jsonWeights.get(r.endpoint), `${r.endpoint}: page vs status.json`);
      strictEqual(r.weight, nginx.get(r.endpoint), `${r.endpoint}: page vs nginx.conf`);
      const expected = (r.track * r.weight) / max;
      ok(
        Math.abs(r.width - expected) <= PX_TOLERANCE,
        `${r.endpoint}: bar ${r.width}px, expected ${expected}px (weight ${r.weight}/${max})`,
      );
    }
    const wa = first.find((r) => r.endpoint === ka)!;
    const wr = first.find((r) => r.endpoint === kr)!;
    ok(Math.abs(wa.width / wr.width - 4) < 0.1, `1000:250 drawn as ${wa.width}:${wr.width}`);
    ok(wa.cls.includes("h-healthy"), wa.cls);

    // A member joins in ZooKeeper: in the table and the timeline, the page not reloaded.
    await member(2, b);
    await page.waitForFunction(
      `document.querySelector('tr.ep.h-healthy[data-endpoint="${kb}"]') !== null &&
       [...document.querySelectorAll("ol.timeline li")]
         .some((li) => li.textContent.includes("${kb} joined"))`,
      { timeout: 10_000 },
    );
    strictEqual(
      await page.evaluate("window.marker"),
      42,
      "same document",
    );
    strictEqual(navigations, loads, "no navigation");

    // b stops answering: its health check fails and its row turns.
    const colourOf = (key: string) =>
      page.evaluate(
        `getComputedStyle(document.querySelector('tr[data-endpoint="${key}"] .state')).backgroundColor`,
      ) as Promise<string>;
    const healthyColour = await colourOf(ka);
    await b.close();
    await page.waitForFunction(
      `document.querySelector('tr.ep.h-unhealthy[data-endpoint="${kb}"]') !== null`,
      { timeout: 10_000 },
    );
    const bad = await page.$eval(`tr[data-endpoint="${kb}"]`, (tr) => ({
      state: tr.querySelector(".state")!.textContent,
      last: tr.querySelector("td.health")!.textContent,
      weight: tr.getAttribute("data-weight"),
    }));
    strictEqual(bad.state, "unhealthy");
    const badColour = await colourOf(kb);
    ok(badColour !== healthyColour, `unhealthy ${badColour} vs healthy ${healthyColour}`);
    ok(bad.last?.includes("last check failure"), bad.last ?? "");
    strictEqual(bad.weight, "0");
    strictEqual(navigations, loads, "still no navigation");
    ok(
      await page.evaluate("document.documentElement.scrollWidth <= 1280"),
      "no horizontal scrolling at 1280 px",
    );
    deepStrictEqual(scriptErrors, [], "the page's script ran without an error");
    const shot = `${shots}/dashboard-1280.png`;
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot (1280 px): ${shot}`);

    // Without JavaScript: the same table, served as it is.
    const plain = await browser.newPage();
    await plain.setJavaScriptEnabled(false);
    await plain.goto(url, { waitUntil: "load" });
    const plainRows = await rows(plain);
    deepStrictEqual(plainRows.map((r) => r.endpoint).sort(), [ka, kb, kr].sort());
    ok(plainRows.find((r) => r.endpoint === kb)!.cls.includes("h-unhealthy"));
    strictEqual(await plain.$eval("#conn", (el) => el.textContent), "", "no script ran");
    await plain.close();

    // Text from outside is text: no element made of it, no handler run; long connect
    // strings are cut, the whole of them on hover, and the page stays within 1280 px.
    const hostile = await browser.newPage();
    await hostile.setViewport({ width: 1280, height: 900 });
    await hostile.setContent(hostilePage(), { waitUntil: "load" });
    const seen = await hostile.evaluate(`(() => {
      const zk = document.querySelector("td.zk .trunc");
      return {
        imgs: document.querySelectorAll("img").length,
        pwned: window.__pwned,
        name: document.querySelector("tr.ep td.name").textContent,
        cut: zk.scrollWidth > zk.clientWidth,
        title: zk.title,
        wide: document.documentElement.scrollWidth,
      };
    })()`) as {
      imgs: number;
      pwned?: number;
      name: string;
      cut: boolean;
      title: string;
      wide: number;
    };
    strictEqual(seen.imgs, 0);
    strictEqual(seen.pwned, undefined);
    ok(seen.name?.startsWith(`<img src=x onerror="window.__pwned=1">:80`), seen.name ?? "");
    ok(seen.cut, "the long connect string is cut");
    ok(seen.title.startsWith("zk-0.a-long-ensemble.example:2181,") && seen.title.endsWith(JOB));
    ok(seen.wide <= 1280, `page ${seen.wide}px wide`);
    await hostile.close();
    await admin.close();
    console.log(`dashboard browser test: ${Math.round(performance.now() - t0)} ms`);
  } finally {
    await browser?.close();
    await stack?.stop();
    for (const be of backends) await be.close();
    await zk.destroy();
    await Deno.remove(dir, { recursive: true });
  }
});
