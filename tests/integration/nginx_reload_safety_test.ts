/**
 * Reload safety (issue 8 A15): which clients lose nothing while aurproxy reloads nginx 20
 * times under load. A reload starts new workers and lets the old ones finish their
 * requests, so a client that opens a new connection per request never sees an error. An
 * old worker closes its idle keep-alive connections, though: a request sent on one at
 * that instant gets no answer (an nginx property: plain SIGHUPs do the same). Clients
 * that retry an idempotent request on a closed kept-alive connection (browsers, curl,
 * most HTTP libraries) lose nothing either; clients that do not are measured, not promised.
 */

import { strictEqual } from "node:assert";
import { routeConfig, testApp } from "../../testing/app.ts";
import { startBackend } from "../../testing/backend.ts";
import { startKeepAliveTraffic } from "../../testing/keepalive_traffic.ts";
import { startNginx } from "../../testing/nginx.ts";
import { freePort, waitFor } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

Deno.test("reload safety: 20 reloads under load lose no request of a client on a new connection per request, or of a keep-alive client that retries idempotent requests", async () => {
  const a = await startBackend({ name: "a" });
  const b = await startBackend({ name: "b" });
  const port = freePort();
  const nginx = await startNginx(
    snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [a.port] }] }]),
    [port],
  );
  const { app, sources } = testApp(nginx, routeConfig(port, { pool: a.port }));
  try {
    await app.start();
    const wrk = new Deno.Command("wrk", {
      args: ["-t2", "-c16", "-d10s", "-H", "Connection: close", `http://127.0.0.1:${port}/`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const retrying = startKeepAliveTraffic(port, { connections: 4, retryIdempotent: true });
    const plain = startKeepAliveTraffic(port, { connections: 4, retryIdempotent: false });
    await new Promise((r) => setTimeout(r, 500));
    const sets = [[b.port], [a.port, b.port], [a.port]];
    const reloads = nginx.metrics.get("reloads_total");
    for (let i = 0; i < 20; i++) {
      sources.get("pool")!.setPorts(sets[i % sets.length]);
      // Each change its own reload, however slow reloads get on a loaded machine.
      await waitFor("the reload", () => nginx.metrics.get("reloads_total") > reloads + i);
      await new Promise((r) => setTimeout(r, 300));
    }
    const kept = await retrying.stop();
    const naive = await plain.stop();
    const out = await wrk.output();
    const text = new TextDecoder().decode(out.stdout);
    const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
    // The figures the docs quote: what each kind of client saw over these reloads.
    console.log(
      `${nginx.metrics.get("reloads_total")} reloads; new connection per request: ${requests} ` +
        `requests, 0 errors expected; keep-alive retrying idempotent requests: ` +
        `${kept.answered} answered, ${kept.retried} retried, ${kept.failed} failed; ` +
        `keep-alive without retry: ${naive.answered} answered, ${naive.failed} failed`,
    );
    strictEqual(requests > 1000, true, `too few requests:\n${text}`);
    strictEqual(/Socket errors/.test(text), false, `socket errors during reloads:\n${text}`);
    strictEqual(/Non-2xx or 3xx/.test(text), false, `failed responses during reloads:\n${text}`);
    strictEqual(kept.answered > 100, true, `too few keep-alive requests: ${JSON.stringify(kept)}`);
    strictEqual(kept.failed, 0, `keep-alive requests lost despite the retry: ${kept.reasons}`);
    strictEqual(kept.non200, 0);
    strictEqual(naive.answered > 100, true, JSON.stringify(naive));
    strictEqual(
      nginx.metrics.get("reloads_total") >= 20,
      true,
      `only ${nginx.metrics.get("reloads_total")} reloads`,
    );
    strictEqual(a.total() > 0 && b.total() > 0, true, "both backends served");
  } finally {
    await app.stop();
    await nginx.stop();
    await a.close();
    await b.close();
  }
});
