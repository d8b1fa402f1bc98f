import { deepStrictEqual, strictEqual } from "node:assert";
import {
  checkImports,
  formatViolation,
  type ImportEdge,
  placement,
} from "../../scripts/import_rules.ts";

const edges = (...pairs: [string, string][]): ImportEdge[] =>
  pairs.map(([from, to]) => ({ from, to }));

const report = (...pairs: [string, string][]) =>
  checkImports(edges(...pairs)).flatMap(formatViolation);

Deno.test("import rules: downward and same-layer imports pass", () => {
  deepStrictEqual(
    report(
      ["main.ts", "lib/cli/run.ts"],
      ["lib/cli/run.ts", "lib/config/load.ts"],
      ["lib/config/load.ts", "lib/zk/client.ts"], // same layer
      ["lib/zk/session.ts", "lib/lifecycle/signal.ts"], // signal.ts is base
      ["lib/process/supervisor.ts", "lib/clock.ts"],
      ["lib/mirror/updater.ts", "lib/process/supervisor.ts"], // a feature folder
      ["tests/unit/x_test.ts", "testing/fake_clock.ts"],
      ["tests/unit/x_test.ts", "scripts/import_rules.ts"],
      ["bench/proxy.ts", "testing/nginx.ts"],
      ["testing/app.ts", "lib/app.ts"],
    ),
    [],
  );
});

Deno.test("import rules: an upward import names both ends and their layers", () => {
  deepStrictEqual(report(["lib/config/did_you_mean.ts", "lib/cli/suggest.ts"]), [
    "upward import: lib/config/did_you_mean.ts → lib/cli/suggest.ts " +
    "(layer 2 lib/config/ → layer 6 lib/cli/)",
  ]);
  deepStrictEqual(report(["lib/zk/sessions.ts", "lib/lifecycle/shutdown.ts"]), [
    "upward import: lib/zk/sessions.ts → lib/lifecycle/shutdown.ts " +
    "(layer 2 lib/zk/ → layer 4 lib/lifecycle/)",
  ]);
  deepStrictEqual(report(["lib/pipeline/reconciler.ts", "lib/register/aws.ts"]), [
    "upward import: lib/pipeline/reconciler.ts → lib/register/aws.ts " +
    "(layer 4 lib/pipeline/ → layer 5 lib/register/)",
  ]);
  deepStrictEqual(report(["lib/model/snapshot.ts", "lib/clock.ts"]), []);
  strictEqual(report(["lib/clock.ts", "lib/model/snapshot.ts"]).length, 1);
});

Deno.test("import rules: shipped code never imports tests, testing or tools; helpers never import tests", () => {
  deepStrictEqual(
    report(
      ["lib/zk/session.ts", "tests/integration/zk_session_test.ts"],
      ["lib/app.ts", "testing/fake_clock.ts"],
      ["mod.ts", "testing/nginx.ts"],
      ["lib/cli/run.ts", "scripts/demo.ts"],
      ["bench/discovery.ts", "tests/helpers/zookeeper.ts"],
      ["testing/nginx.ts", "tests/fixtures/seed.ts"],
    ),
    [
      "forbidden import: lib/zk/session.ts → tests/integration/zk_session_test.ts " +
      "(lib/ → tests/: shipped code imports only shipped code)",
      "forbidden import: lib/app.ts → testing/fake_clock.ts " +
      "(lib/ → testing/: shipped code imports only shipped code)",
      "forbidden import: mod.ts → testing/nginx.ts " +
      "(mod.ts → testing/: shipped code imports only shipped code)",
      "forbidden import: lib/cli/run.ts → scripts/demo.ts " +
      "(lib/ → scripts/: shipped code imports only shipped code)",
      "forbidden import: bench/discovery.ts → tests/helpers/zookeeper.ts " +
      "(bench/ → tests/: shared helpers live in testing/)",
      "forbidden import: testing/nginx.ts → tests/fixtures/seed.ts " +
      "(testing/ → tests/: shared helpers live in testing/)",
    ],
  );
});

Deno.test("import rules: a file directly under lib/ must be in the layer table", () => {
  deepStrictEqual(report(["lib/cli/run.ts", "lib/helpers.ts"]), [
    "not in the layer table (scripts/import_rules.ts): lib/helpers.ts",
  ]);
  deepStrictEqual(placement("lib/lifecycle/signal.ts"), {
    layer: 0,
    unit: "lib/lifecycle/signal.ts",
  });
  deepStrictEqual(placement("lib/lifecycle/shutdown.ts"), { layer: 4, unit: "lib/lifecycle/" });
  deepStrictEqual(placement("lib/mirror/gor/script.ts"), { layer: 5, unit: "lib/mirror/" });
  strictEqual(placement("tests/unit/x_test.ts"), undefined);
});

Deno.test("import rules: a cycle between lib/ folders is reported as its shortest loop with the imports closing it", () => {
  deepStrictEqual(
    report(
      ["lib/share/tracker.ts", "lib/balance/weights.ts"],
      ["lib/balance/weights.ts", "lib/share/tracker.ts"],
    ),
    [
      // The case: one direction of the loop is also upward.
      "upward import: lib/balance/weights.ts → lib/share/tracker.ts " +
      "(layer 2 lib/balance/ → layer 3 lib/share/)",
      "folder cycle: lib/balance → lib/share → lib/balance",
      "  lib/balance/weights.ts → lib/share/tracker.ts (lib/balance → lib/share)",
      "  lib/share/tracker.ts → lib/balance/weights.ts (lib/share → lib/balance)",
    ],
  );
  // Seen from a sibling, a subfolder is its top folder: share/health → sources → share.
  deepStrictEqual(
    report(
      ["lib/share/health/adjuster.ts", "lib/sources/source.ts"],
      ["lib/sources/static.ts", "lib/share/delay.ts"],
    ),
    [
      "folder cycle: lib/share → lib/sources → lib/share",
      "  lib/share/health/adjuster.ts → lib/sources/source.ts (lib/share → lib/sources)",
      "  lib/sources/static.ts → lib/share/delay.ts (lib/sources → lib/share)",
    ],
  );
  // Sibling subfolders of one folder.
  deepStrictEqual(
    report(
      ["lib/backends/nginx/apply.ts", "lib/backends/haproxy/render.ts"],
      ["lib/backends/haproxy/apply.ts", "lib/backends/nginx/render.ts"],
    )[0],
    "folder cycle: lib/backends/haproxy → lib/backends/nginx → lib/backends/haproxy",
  );
});

Deno.test("import rules: a folder and its own subfolders may import each other (interface and implementations)", () => {
  deepStrictEqual(
    report(
      ["lib/share/factories.ts", "lib/share/health/adjuster.ts"],
      ["lib/share/health/adjuster.ts", "lib/share/adjuster.ts"],
      ["lib/backends/table.ts", "lib/backends/nginx/backend.ts"],
      ["lib/backends/nginx/backend.ts", "lib/backends/backend.ts"],
    ),
    [],
  );
});

Deno.test("import rules: of a larger loop, the shortest one is shown", () => {
  const out = report(
    ["lib/a/x.ts", "lib/b/x.ts"],
    ["lib/b/x.ts", "lib/c/x.ts"],
    ["lib/c/x.ts", "lib/a/x.ts"],
    ["lib/c/y.ts", "lib/b/y.ts"],
  );
  strictEqual(out[0], "folder cycle: lib/b → lib/c → lib/b");
  strictEqual(
    out.filter((l) => l.startsWith("folder cycle")).length,
    1,
    "one strongly connected set",
  );
});
