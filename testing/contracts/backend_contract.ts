/**
 * The contract every {@linkcode ProxyBackend} passes: one shared suite of cases, each run
 * against the real proxy, that an implementation's test file registers with
 * {@linkcode runBackendContract}. nginx runs it in
 * `tests/integration/nginx_backend_contract_test.ts`; HAProxy will run the same cases.
 *
 * What a backend promises:
 * - `render` is pure and deterministic: same snapshot (by value), same text; it neither
 *   changes the snapshot nor touches a file;
 * - `validate` accepts a valid snapshot and rejects one the proxy cannot run, with the
 *   proxy's reason, touching nothing live;
 * - `apply` of a valid snapshot is `applied` (reloaded), then `unchanged` for the same
 *   snapshot (and for an equal one built later);
 * - a config the proxy rejects is `invalid` and leaves the previous config live and serving;
 * - `reload: false` (`--setup`) writes the config without reloading the running proxy;
 * - with no proxy running, `apply` reports `reload_failed` rather than throwing;
 * - traffic reaches the snapshot's endpoints through the real proxy: by route, in
 *   proportion to weights (none to a weight of 0), and a route with no endpoint answers
 *   its empty-endpoint status.
 *
 * @module
 */

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import type { ProxyBackend } from "../../lib/backends/backend.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { startBackend, type TestBackend } from "../backend.ts";
import { httpGet } from "../http.ts";
import { freePort } from "../ports.ts";
import { snapshot } from "../snapshots.ts";

/** A proxy process started by the harness. */
export interface RunningProxy {
  stop(): Promise<void>;
}

/** One backend instance under test, writing under the case's directory. */
export interface ProxyUnderTest {
  readonly backend: ProxyBackend;
  /** The live config file's text, or undefined when there is none. */
  readLiveConfig(): Promise<string | undefined>;
  /**
   * Starts the proxy on the config the backend wrote (with `reload: false`), resolving once
   * it accepts connections on every port of `ports`.
   */
  startProxy(ports: readonly number[]): Promise<RunningProxy>;
}

export interface BackendContract {
  /** Prefix of every case's name: "nginx", "haproxy". */
  readonly name: string;
  /** A fresh backend writing under `dir` (a new temp dir per case, removed after it). */
  newBackend(dir: string): ProxyUnderTest | Promise<ProxyUnderTest>;
  /**
   * `snapshot` with one change the proxy's own check rejects though aurproxy's config
   * checks pass (a value only the proxy can judge, like nginx's `worker_connections`).
   */
  invalidate(snapshot: ProxySnapshot): ProxySnapshot;
  /** Skips every case (say, the proxy is not installed here). */
  readonly ignore?: boolean;
}

interface Case {
  readonly dir: string;
  readonly proxy: ProxyUnderTest;
  readonly a: TestBackend;
  readonly b: TestBackend;
  /** The proxy's listening port. */
  readonly port: number;
  /** One HTTP route on `port` to the given backend ports. */
  route(ports: number[], shares?: number[]): ProxySnapshot;
  /** Writes `snap` with `reload: false` and starts the proxy on it. */
  start(snap: ProxySnapshot): Promise<RunningProxy>;
}

async function bodies(port: number, n: number, path = "/"): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await httpGet(port, path)).body);
  return out;
}

function deepFrozen<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFrozen(v);
  }
  return o;
}

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      out.push(`${d}/${e.name}`);
      if (e.isDirectory) await walk(`${d}/${e.name}`);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Registers the contract's cases as `Deno.test`s named `<name> backend contract: ...`.
 *
 * @example
 * ```ts
 * runBackendContract({
 *   name: "nginx",
 *   newBackend: (dir) => nginxUnderTest(dir),
 *   invalidate: (s) => ({ ...s, context: { ...s.context, worker_connections: "lots" } }),
 * });
 * ```
 */
export function runBackendContract(contract: BackendContract): void {
  const test = (what: string, fn: (c: Case) => Promise<void>) =>
    Deno.test({
      name: `${contract.name} backend contract: ${what}`,
      ignore: contract.ignore,
      fn: async () => {
        const dir = await Deno.makeTempDir({ prefix: `aurproxy-contract-${contract.name}-` });
        const a = await startBackend({ name: "a" });
        const b = await startBackend({ name: "b" });
        const running: RunningProxy[] = [];
        try {
          const proxy = await contract.newBackend(dir);
          const port = freePort();
          const route = (ports: number[], shares?: number[]) =>
            snapshot([{ ports: [port], routes: [{ locations: ["/"], ports, shares }] }]);
          await fn({
            dir,
            proxy,
            a,
            b,
            port,
            route,
            start: async (snap) => {
              const setup = await proxy.backend.apply(snap, { reload: false });
              strictEqual(setup.kind, "applied", `setup write: ${JSON.stringify(setup)}`);
              const p = await proxy.startProxy([port]);
              running.push(p);
              return p;
            },
          });
        } finally {
          for (const p of running) await p.stop();
          await a.close();
          await b.close();
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
      },
    });

  test("render is pure and deterministic", async ({ dir, proxy, route, a, b }) => {
    const snap = deepFrozen(route([a.port, b.port], [1, 0.5]));
    const before = await listing(dir);
    const text = proxy.backend.render(snap);
    ok(text.length > 0, "renders something");
    strictEqual(proxy.backend.render(snap), text, "same snapshot, same text");
    strictEqual(
      proxy.backend.render(structuredClone(snap)),
      text,
      "an equal snapshot, same text",
    );
    strictEqual(
      proxy.backend.render({ ...snap, builtAt: snap.builtAt + 60_000 }),
      text,
      "when it was built is not rendered",
    );
    deepStrictEqual(await listing(dir), before, "no file written");
    strictEqual(await proxy.readLiveConfig(), undefined, "no live config written");
  });

  test("validate accepts a valid snapshot and rejects an invalid one, touching nothing live", async ({ dir, proxy, route, a, start }) => {
    const valid = route([a.port]);
    await start(valid);
    const live = await proxy.readLiveConfig();
    const before = await listing(dir);
    deepStrictEqual(await proxy.backend.validate(route([a.port, a.port + 1])), { ok: true });
    const rejected = await proxy.backend.validate(contract.invalidate(valid));
    strictEqual(rejected.ok, false);
    ok(!rejected.ok && rejected.error.trim().length > 0, "says why");
    strictEqual(await proxy.readLiveConfig(), live, "live config untouched");
    deepStrictEqual(await listing(dir), before, "nothing left behind");
  });

  test("apply of a valid snapshot is applied, then unchanged for the same one", async ({ proxy, port, route, a, b, start }) => {
    await start(route([a.port]));
    const next = route([b.port]);
    const first = await proxy.backend.apply(next, { reload: true });
    strictEqual(first.kind, "applied", JSON.stringify(first));
    strictEqual(first.kind === "applied" && first.reloaded, true, "reloaded");
    deepStrictEqual(await bodies(port, 4), ["b", "b", "b", "b"]);
    strictEqual((await proxy.backend.apply(next, { reload: true })).kind, "unchanged");
    const later = { ...next, builtAt: next.builtAt + 1000 };
    strictEqual((await proxy.backend.apply(later, { reload: true })).kind, "unchanged");
  });

  test("a config the proxy rejects is invalid and leaves the previous one live and serving", async ({ proxy, port, route, a, b, start }) => {
    await start(route([a.port]));
    const live = await proxy.readLiveConfig();
    const r = await proxy.backend.apply(contract.invalidate(route([b.port])), { reload: true });
    strictEqual(r.kind, "invalid", JSON.stringify(r));
    ok(r.kind === "invalid" && r.error.trim().length > 0, "says why");
    strictEqual(await proxy.readLiveConfig(), live, "live config untouched");
    deepStrictEqual(await bodies(port, 3), ["a", "a", "a"]);
    // The previous config is still the one to come back to: a valid apply goes live.
    strictEqual((await proxy.backend.apply(route([b.port]), { reload: true })).kind, "applied");
    deepStrictEqual(await bodies(port, 3), ["b", "b", "b"]);
  });

  test("reload: false writes the config without reloading the running proxy", async ({ proxy, port, route, a, b, start }) => {
    await start(route([a.port]));
    const next = route([b.port]);
    const r = await proxy.backend.apply(next, { reload: false });
    strictEqual(r.kind === "applied" && !r.reloaded, true, JSON.stringify(r));
    strictEqual(await proxy.readLiveConfig(), proxy.backend.render(next), "written");
    deepStrictEqual(await bodies(port, 3), ["a", "a", "a"], "not reloaded");
    // What was written without a reload is not taken as running: the next apply reloads.
    const after = await proxy.backend.apply(next, { reload: true });
    strictEqual(after.kind === "applied" && after.reloaded, true, JSON.stringify(after));
    deepStrictEqual(await bodies(port, 3), ["b", "b", "b"]);
  });

  test("with no proxy running, apply reports reload_failed and keeps the config written", async ({ proxy, route, a }) => {
    const snap = route([a.port]);
    const r = await proxy.backend.apply(snap, { reload: true });
    strictEqual(r.kind, "reload_failed", JSON.stringify(r));
    ok(r.kind === "reload_failed" && r.error.trim().length > 0, "says why");
    strictEqual(await proxy.readLiveConfig(), proxy.backend.render(snap));
  });

  test("traffic reaches the snapshot's endpoints: by route, by weight, and the empty-route status", async ({ port, a, b, start }) => {
    const snap = snapshot([{
      ports: [port],
      routes: [
        { locations: ["/a/"], ports: [a.port] },
        { locations: ["/b/"], ports: [b.port] },
        { locations: ["/both/"], ports: [a.port, b.port] },
        { locations: ["/only-a/"], ports: [a.port, b.port], shares: [1, 0] },
        { locations: ["/empty/"], ports: [], emptyEndpointStatusCode: 418 },
      ],
    }]);
    await start(snap);
    deepStrictEqual(await bodies(port, 2, "/a/x"), ["a", "a"]);
    deepStrictEqual(await bodies(port, 2, "/b/y"), ["b", "b"]);
    const both = await bodies(port, 20, "/both/");
    ok(both.includes("a") && both.includes("b"), `equal weights share: ${both}`);
    deepStrictEqual(
      new Set(await bodies(port, 10, "/only-a/")),
      new Set(["a"]),
      "weight 0 gets none",
    );
    strictEqual((await httpGet(port, "/empty/")).status, 418);
  });
}
