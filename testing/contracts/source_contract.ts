/**
 * The expectations every {@linkcode Source} meets, as one shared suite each implementation
 * runs with its own fixture (static, list, ZooKeeper serverset and Aurora today; the API
 * source next): start resolves with what was there before it, `endpoints()` follows
 * additions and removals, `onChange` fires on a change and not without one, `stop()`
 * ends the notifications and may be called twice, the name does not move, and `status()`
 * (when there is one) has its shape.
 *
 * @example
 * ```ts
 * import { ListSource } from "../../lib/sources/list_source.ts";
 *
 * // At the top level of a test module (e.g. tests/integration/source_contract_test.ts):
 * function registerListContract() {
 *   const ep = (port: number) => ({ host: "127.0.0.1", port, ports: { default: port } });
 *   runSourceContract({
 *     name: "list",
 *     setup: (ports) => {
 *       const s = new ListSource("test", ports.map(ep));
 *       return Promise.resolve({
 *         source: s,
 *         addEndpoint: (port) => Promise.resolve(s.set([...s.endpoints(), ep(port)])),
 *         removeEndpoint: (port) =>
 *           Promise.resolve(s.set(s.endpoints().filter((e) => e.port !== port))),
 *         cleanup: () => Promise.resolve(),
 *       });
 *     },
 *   });
 * }
 * ```
 *
 * @module
 */

import { deepStrictEqual, strictEqual } from "node:assert";
import type { Source } from "../../lib/sources/source.ts";
import { waitFor } from "../ports.ts";

/** One source under test, and how the test changes what it serves. */
export interface SourceFixture {
  readonly source: Source;
  /**
   * Makes an endpoint on `port` appear where the source reads (a member announced, an
   * entry added); resolves once written, not once seen. Absent for a fixed source.
   */
  addEndpoint?(port: number): Promise<void>;
  /** Makes the endpoint on `port` disappear. Absent for a fixed source. */
  removeEndpoint?(port: number): Promise<void>;
  /** Stops what the fixture started (the source is stopped by the suite, maybe twice). */
  cleanup(): Promise<void>;
}

/** An implementation's entry in the suite. */
export interface SourceContractOptions {
  /** Names the tests: `source contract (<name>): ...`. */
  readonly name: string;
  /**
   * Builds a source, not started, whose endpoints are `ports` once started (a fixed
   * source is given exactly one port).
   */
  setup(ports: readonly number[]): Promise<SourceFixture>;
  /**
   * How long to wait before concluding that no (more) change event will come: longer
   * than the source takes to hear of a change. Default 300 ms.
   */
  readonly quietMs?: number;
  /** Bound on `start()`. Default 5 s. */
  readonly startBoundMs?: number;
  /** A source that cannot be changed (the static one): the change cases are ignored. */
  readonly fixed?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const portsOf = (s: Source) => s.endpoints().map((e) => e.port).sort((a, b) => a - b);

/**
 * Registers the suite's tests (`Deno.test`) for one implementation; the change cases are
 * ignored for a `fixed` one.
 */
export function runSourceContract(o: SourceContractOptions): void {
  const quietMs = o.quietMs ?? 300;
  const startBoundMs = o.startBoundMs ?? 5000;
  const title = (what: string) => `source contract (${o.name}): ${what}`;

  /** Runs `fn` with a fixture, then stops the source and cleans up whatever happened. */
  async function withSource(
    ports: readonly number[],
    fn: (f: SourceFixture) => Promise<void>,
  ): Promise<void> {
    const f = await o.setup(ports);
    try {
      if (!o.fixed && (!f.addEndpoint || !f.removeEndpoint)) {
        throw new Error(`${o.name}: a fixture that is not fixed must add and remove endpoints`);
      }
      await fn(f);
    } finally {
      await f.source.stop();
      await f.cleanup();
    }
  }

  const until = (f: SourceFixture, expected: number[], what: string) =>
    waitFor(
      `${what}: endpoints ${expected.join(",")} (have ${portsOf(f.source).join(",")})`,
      () => portsOf(f.source).join(",") === expected.join(","),
      10_000,
    );

  Deno.test(
    title("start resolves, in bounded time, with the endpoints there before it"),
    () =>
      withSource([40_001], async (f) => {
        const t0 = Date.now();
        await f.source.start();
        strictEqual(Date.now() - t0 < startBoundMs, true, `start took ${Date.now() - t0} ms`);
        deepStrictEqual(portsOf(f.source), [40_001]);
        for (const e of f.source.endpoints()) {
          strictEqual(typeof e.host === "string" && e.host.length > 0, true, "a host");
          strictEqual(Number.isInteger(e.port) && e.port > 0 && e.port < 65536, true, "a port");
          strictEqual(typeof e.ports === "object" && e.ports !== null, true, "named ports");
        }
        await f.source.start(); // started twice: still one source, same endpoints
        deepStrictEqual(portsOf(f.source), [40_001]);
      }),
  );

  Deno.test(title("the name is stable and not empty"), () =>
    withSource([40_001], async (f) => {
      const name = f.source.name;
      strictEqual(typeof name === "string" && name.length > 0, true);
      await f.source.start();
      strictEqual(f.source.name, name);
      await f.source.stop();
      strictEqual(f.source.name, name);
    }));

  Deno.test(
    title("endpoints() is the same list while nothing changes"),
    () =>
      withSource([40_001], async (f) => {
        await f.source.start();
        const a = f.source.endpoints();
        await sleep(quietMs);
        strictEqual(f.source.endpoints(), a);
      }),
  );

  Deno.test(title("no change event without a change"), () =>
    withSource([40_001], async (f) => {
      let changes = 0;
      f.source.onChange(() => changes++);
      await f.source.start();
      const after = changes; // a first read may count as one
      await sleep(quietMs);
      strictEqual(changes, after);
      strictEqual(after <= 1, true, `${after} change events on start`);
    }));

  Deno.test({
    name: title("endpoints() follows additions and removals; each change is signalled"),
    ignore: o.fixed,
    fn: () =>
      withSource([40_001], async (f) => {
        await f.source.start();
        const seen: string[] = [];
        f.source.onChange(() => seen.push(portsOf(f.source).join(",")));
        await f.addEndpoint!(40_002);
        await until(f, [40_001, 40_002], "added");
        await f.removeEndpoint!(40_001);
        await until(f, [40_002], "removed");
        await sleep(quietMs); // a late or duplicate event would show here
        // Each event came once the list it announces was readable.
        deepStrictEqual(seen, ["40001,40002", "40002"]);
        await f.addEndpoint!(40_003);
        await f.removeEndpoint!(40_002);
        await until(f, [40_003], "replaced");
        await sleep(quietMs);
        strictEqual(seen.at(-1), "40003", "the last event announces the last list");
        strictEqual(seen.length <= 4, true, `${seen.length} events for 4 changes`);
      }),
  });

  Deno.test({
    name: title("a listener that unsubscribed hears nothing more; the others still do"),
    ignore: o.fixed,
    fn: () =>
      withSource([40_001], async (f) => {
        let gone = 0, kept = 0;
        const unsubscribe = f.source.onChange(() => gone++);
        f.source.onChange(() => kept++);
        await f.source.start();
        unsubscribe();
        const before = gone;
        await f.addEndpoint!(40_002);
        await until(f, [40_001, 40_002], "added");
        await waitFor("the remaining listener to hear it", () => kept > 0);
        strictEqual(gone, before);
      }),
  });

  Deno.test({
    name: title("stop() ends the notifications and may be called twice"),
    ignore: o.fixed,
    fn: () =>
      withSource([40_001], async (f) => {
        let changes = 0;
        f.source.onChange(() => changes++);
        await f.source.start();
        await f.source.stop();
        await f.source.stop();
        const before = changes;
        await f.addEndpoint!(40_002);
        await sleep(quietMs);
        strictEqual(changes, before, "no event after stop");
      }),
  });

  Deno.test(title("stop() may be called twice, and before start"), async () => {
    const f = await o.setup([40_001]);
    try {
      await f.source.stop();
      await f.source.start();
      await f.source.stop();
      await f.source.stop();
    } finally {
      await f.cleanup();
    }
  });

  Deno.test(
    title("status(), when there is one, says healthy with a reason once started"),
    () =>
      withSource([40_001], async (f) => {
        await f.source.start();
        const st = f.source.status?.();
        if (st === undefined) return; // Optional: a list held in memory is always current.
        strictEqual(typeof st.healthy, "boolean");
        strictEqual(typeof st.detail === "string" && st.detail.length > 0, true);
        strictEqual(st.healthy, true, st.detail);
      }),
  );
}
