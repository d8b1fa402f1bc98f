import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { parseFlags, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { mirrorSettings, replaySettings } from "../../lib/cli/mirror_flags.ts";
import { REPLAY_FLAGS } from "../../lib/cli/replay.ts";
import { UsageErrors } from "../../lib/errors.ts";

const STATIC = JSON.stringify({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name: "replay-1",
  host: "10.0.0.1",
  port: 9000,
});

/** The messages of the UsageErrors `fn` throws. */
function messages(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  throw new Error("no error thrown");
}

Deno.test("mirror flags: the original's names and defaults; off without --mirror-source", () => {
  const v = parseFlags([], RUN_FLAGS);
  strictEqual(v["mirror-max-qps"], "0");
  strictEqual(v["mirror-max-update-frequency"], "15");
  strictEqual(v["mirror-pid-path"], "/tmp/mirror_pid");
  strictEqual(v["mirror-command-path"], "/etc/aurproxy/gor/dynamic.sh");
  strictEqual(v["gor-path"], "/opt/go/bin/gor");
  strictEqual(v["mirror-supervise"], false);
  strictEqual(mirrorSettings(v), undefined);
  // As in the original, mirror flags without a source are ignored.
  strictEqual(mirrorSettings(parseFlags(["--mirror-ports=8080"], RUN_FLAGS)), undefined);
});

Deno.test("mirror flags: a full set, with the original's --flag_name spelling", () => {
  const s = mirrorSettings(parseFlags([
    `--mirror_source=${STATIC}`,
    "--mirror_ports=8080,8081",
    "--mirror_max_qps=100",
    "--mirror_max_update_frequency=2.5",
    "--mirror-supervise",
  ], RUN_FLAGS))!;
  deepStrictEqual(s.spec, {
    mode: "mirror",
    gorPath: "/opt/go/bin/gor",
    pidPath: "/tmp/mirror_pid",
    ports: [8080, 8081],
    maxQps: 100,
  });
  strictEqual(s.source.kind, "static");
  strictEqual(s.source.path, "--mirror-source");
  strictEqual(s.commandPath, "/etc/aurproxy/gor/dynamic.sh");
  strictEqual(s.minIntervalSeconds, 2.5);
  strictEqual(s.supervise, true);
});

Deno.test("mirror flags: every problem at once, each naming its flag", () => {
  deepStrictEqual(
    messages(() =>
      mirrorSettings(parseFlags(['--mirror-source={"source_class": "static"}'], RUN_FLAGS))
    ),
    [
      "--mirror-source.name: required, a string",
      "--mirror-source.host: required, a string",
      "--mirror-source.port: required, an integer 1-65535",
      "--mirror-ports: required with --mirror-source: comma-separated ports",
      "--mirror-max-qps: required with --mirror-source: requests per second, an integer >= 1",
    ],
  );
  deepStrictEqual(
    messages(() =>
      mirrorSettings(parseFlags([
        "--mirror-source={nope",
        "--mirror-ports=8080,http",
        "--mirror-max-qps=1.5",
        "--mirror-max-update-frequency=-1",
        "--mirror-pid-path=",
      ], RUN_FLAGS))
    ),
    [
      '--mirror-source: invalid JSON at line 1, column 2: expected a property name in double quotes, got "n"',
      "--mirror-ports: expected ports 1-65535, comma-separated, got 8080,http",
      '--mirror-max-qps: expected an integer >= 1, got "1.5"',
      '--mirror-max-update-frequency: expected a number >= 0, got "-1"',
      "--mirror-pid-path: required: a path",
    ],
  );
  deepStrictEqual(
    messages(() =>
      mirrorSettings(parseFlags([
        `--mirror-source=${STATIC}`,
        "--mirror-ports=8080,8080",
        "--mirror-max-qps=5",
      ], RUN_FLAGS))
    ),
    ["--mirror-ports: port 8080 given twice"],
  );
  // An ApiSource is a mirror source like any other (its routes go on the management port).
  const api = mirrorSettings(parseFlags([
    '--mirror-source={"source_class": "tellapart.aurproxy.source.ApiSource", "name": "r"}',
    "--mirror-ports=8080",
    "--mirror-max-qps=5",
  ], RUN_FLAGS));
  strictEqual(api?.source.kind, "api");
  strictEqual(api?.source.path, "--mirror-source");
  deepStrictEqual(
    messages(() =>
      mirrorSettings(parseFlags([
        '--mirror-source={"source_class": "api", "name": "r", "source_whitelist": ["x.Y"]}',
        "--mirror-ports=8080",
        "--mirror-max-qps=5",
      ], RUN_FLAGS))
    ),
    ['--mirror-source.source_whitelist[0]: unknown source class "x.Y"'],
  );
});

Deno.test("replay flags: the original's required flags and defaults; relative paths made absolute", () => {
  deepStrictEqual(messages(() => replaySettings(parseFlags([], REPLAY_FLAGS))), [
    "--replay-source: required: the source to replay to (JSON)",
    "--replay-port: required: comma-separated ports",
    "--replay-max-qps: required: requests per second, an integer >= 1",
  ]);
  const s = replaySettings(parseFlags([
    "--replay-port=12346",
    `--replay-source=${STATIC}`,
    "--replay-max-qps=1000",
    "--replay-command-path=gor/replay.sh",
    "--replay-pid-path=run/gor.pid",
  ], REPLAY_FLAGS));
  strictEqual(s.spec.mode, "replay");
  deepStrictEqual(s.spec.ports, [12346]);
  strictEqual(s.spec.maxQps, 1000);
  strictEqual(s.minIntervalSeconds, 15);
  strictEqual(s.spec.pidPath, `${Deno.cwd()}/run/gor.pid`);
  strictEqual(s.commandPath, `${Deno.cwd()}/gor/replay.sh`);
  strictEqual(s.supervise, false);
  // run's name for the script is accepted too; two different paths are refused.
  const base = ["--replay-port=1", `--replay-source=${STATIC}`, "--replay-max-qps=1"];
  strictEqual(
    replaySettings(parseFlags([...base, "--mirror-command-path=/x/y.sh"], REPLAY_FLAGS))
      .commandPath,
    "/x/y.sh",
  );
  throws(
    () =>
      replaySettings(
        parseFlags([...base, "--mirror-command-path=/a", "--replay-command-path=/b"], REPLAY_FLAGS),
      ),
    UsageErrors,
  );
});
