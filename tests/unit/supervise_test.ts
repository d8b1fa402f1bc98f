/**
 * The pure parts of `run --supervise`: the flag and what it refuses, nginx time values
 * and the stop deadline taken from `worker_shutdown_timeout`, what cannot be supervised,
 * the supervised command line, and the backend-agnostic wiring (the shutdown step, the
 * take-over on a SIGHUP graph swap).
 */

import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert";
import type { ProxyBackend } from "../../lib/backends/backend.ts";
import { nginxTimeMs, workerShutdownTimeoutMsOf } from "../../lib/backends/nginx/config_text.ts";
import {
  DEFAULT_STOP_TIMEOUT_MS,
  ownNginxArgv,
  stopDeadlineMs,
  whyNotSupervisable,
} from "../../lib/backends/nginx/supervised.ts";
import { parseFlags, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { type Graph, runOptions } from "../../lib/cli/run.ts";
import { addProxyStop, adopting } from "../../lib/cli/supervise.ts";
import { UsageError } from "../../lib/errors.ts";
import { ShutdownSequence } from "../../lib/lifecycle/shutdown.ts";
import { memoryLogger } from "../../lib/log.ts";

const base = ["--management-port=31325", "--config={}"];

Deno.test("supervise flag: off by default, on with --supervise (and --supervise=True)", () => {
  strictEqual(runOptions(parseFlags(base, RUN_FLAGS)).supervise, false);
  strictEqual(runOptions(parseFlags([...base, "--supervise"], RUN_FLAGS)).supervise, true);
  strictEqual(runOptions(parseFlags([...base, "--supervise=True"], RUN_FLAGS)).supervise, true);
});

Deno.test("supervise flag: refused with --setup, naming both", () => {
  throws(
    () => runOptions(parseFlags([...base, "--supervise", "--setup"], RUN_FLAGS)),
    (err: unknown) =>
      err instanceof UsageError && err.path === "--supervise" &&
      err.message.startsWith("--supervise: cannot be combined with --setup"),
  );
});

Deno.test("nginx time values: units, combinations, bare seconds; anything else undefined", () => {
  const cases: [string, number | undefined][] = [
    ["30s", 30_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
    ["1d", 86_400_000],
    ["10", 10_000],
    [" 5s ", 5_000],
    ["soon", undefined],
    ["5x", undefined],
    ["s", undefined],
    ["", undefined],
  ];
  for (const [text, ms] of cases) strictEqual(nginxTimeMs(text), ms, text);
});

Deno.test("stop deadline: worker_shutdown_timeout plus 2 s, or 30 s when the config sets none", () => {
  strictEqual(workerShutdownTimeoutMsOf("worker_shutdown_timeout 1m;\n"), 60_000);
  strictEqual(workerShutdownTimeoutMsOf("events {}\n"), undefined);
  strictEqual(stopDeadlineMs("daemon off;\nworker_shutdown_timeout 10s;\n"), 12_000);
  strictEqual(stopDeadlineMs("worker_shutdown_timeout 1s;\n"), 3_000);
  strictEqual(stopDeadlineMs("events {}\n"), DEFAULT_STOP_TIMEOUT_MS);
  strictEqual(DEFAULT_STOP_TIMEOUT_MS, 30_000);
});

Deno.test("supervisable: daemon on is refused (nginx would leave its process group)", () => {
  strictEqual(whyNotSupervisable("daemon off;\n", "/x/nginx.conf"), undefined);
  strictEqual(
    whyNotSupervisable("pid /run/n.pid;\ndaemon on;\n", "/x/nginx.conf"),
    `/x/nginx.conf says "daemon on;": a supervised nginx must stay in the foreground ` +
      `(remove "daemon" from the config's context)`,
  );
});

Deno.test("supervised command line: -c the live file, -p the prefix when set", () => {
  deepStrictEqual(ownNginxArgv({ path: "/usr/sbin/nginx" }, { configurationFile: "/e/n.conf" }), [
    "/usr/sbin/nginx",
    "-c",
    "/e/n.conf",
  ]);
  deepStrictEqual(
    ownNginxArgv({ path: "nginx" }, { configurationFile: "/d/conf/n.conf", prefix: "/d" }),
    ["nginx", "-c", "/d/conf/n.conf", "-p", "/d"],
  );
});

/** A backend of nothing but a name and the optional methods a test gives it. */
function backend(extra: Partial<ProxyBackend> = {}): ProxyBackend {
  return {
    name: "test",
    render: () => "",
    validate: () => Promise.resolve({ ok: true }),
    apply: () => Promise.resolve({ kind: "unchanged" }),
    ...extra,
  };
}

/** Just what `adopting` reads of a graph: its backend, and close. */
function graphOf(b: ProxyBackend, closed: string[]): Graph {
  return { backend: b, close: () => Promise.resolve(void closed.push(b.name)) } as Partial<
    Graph
  > as Graph;
}

Deno.test("supervise wiring: a SIGHUP graph takes over the running proxy, or is closed and refused", async () => {
  const previous = backend({ name: "old" });
  const closed: string[] = [];
  const took: ProxyBackend[] = [];
  const taker = backend({ name: "new", adopt: (p) => void took.push(p) });
  const g = await adopting(true, () => previous, Promise.resolve(graphOf(taker, closed)));
  strictEqual(g.backend, taker);
  deepStrictEqual(took, [previous]);
  deepStrictEqual(closed, []);

  const refuser = backend({ name: "refuser", adopt: () => "it would run another file" });
  await rejects(
    adopting(true, () => previous, Promise.resolve(graphOf(refuser, closed))),
    /it would run another file/,
  );
  const plain = backend({ name: "plain" });
  await rejects(
    adopting(true, () => previous, Promise.resolve(graphOf(plain, closed))),
    /the plain backend cannot take over the running proxy/,
  );
  deepStrictEqual(closed, ["refuser", "plain"]);
  // Not supervising: nothing to take over.
  strictEqual(
    (await adopting(false, () => previous, Promise.resolve(graphOf(plain, closed)))).backend,
    plain,
  );
});

Deno.test("supervise wiring: stopping the proxy is a stop_children step, after deregister and flush, of the current backend", async () => {
  const shutdown = new ShutdownSequence({ logger: memoryLogger() });
  const order: string[] = [];
  let current = backend({ name: "first", stop: () => Promise.resolve(void order.push("first")) });
  addProxyStop(shutdown, () => current);
  shutdown.add("flush", "pipeline", () => void order.push("flush"));
  shutdown.add("deregister", "registration", () => void order.push("deregister"));
  shutdown.add("close", "management server", () => void order.push("close"));
  deepStrictEqual(shutdown.steps().map((s) => `${s.phase}/${s.name}`), [
    "deregister/registration",
    "flush/pipeline",
    "stop_children/proxy",
    "close/management server",
  ]);
  current = backend({ name: "second", stop: () => Promise.resolve(void order.push("second")) });
  await shutdown.run("test");
  deepStrictEqual(order, ["deregister", "flush", "second", "close"]);
});
