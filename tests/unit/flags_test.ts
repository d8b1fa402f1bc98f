import { strictEqual, throws } from "node:assert";
import { numberFlag, parseFlags, requireString, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { UsageError } from "../../lib/errors.ts";
import { defaultStateFile, runOptions } from "../../lib/cli/run.ts";
import { parseConfig } from "../../lib/kinds.ts";

Deno.test("run flags: original defaults", () => {
  const v = parseFlags(["--management-port=31325", "--config={}"], RUN_FLAGS);
  strictEqual(v.backend, "nginx");
  strictEqual(v["update-period"], "2");
  strictEqual(v["max-update-frequency"], "10");
  strictEqual(v["weight-adjustment-delay-seconds"], "180");
  strictEqual(v.setup, false);
});

Deno.test("run flags: --flag=value, --flag value and --flag_name all work", () => {
  const v = parseFlags(
    ["--management-port", "31325", "--max_update_frequency=0", "--setup", "--config", "{}"],
    RUN_FLAGS,
  );
  strictEqual(v["management-port"], "31325");
  strictEqual(v["max-update-frequency"], "0");
  strictEqual(v.setup, true);
  strictEqual(v.config, "{}");
});

Deno.test("run flags: unknown flag names the flag and suggests the right one", () => {
  throws(
    () => parseFlags(["--managment-port=1"], RUN_FLAGS),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === "--managment-port: unknown flag (did you mean --management-port?)",
  );
});

Deno.test("run flags: a flag whose feature has not landed is refused, not ignored", () => {
  throws(
    () => parseFlags(["--metric-publisher-arg=period=60"], RUN_FLAGS),
    (e: unknown) =>
      e instanceof UsageError && e.message === "--metric-publisher-arg: not supported yet",
  );
  // The --mirror-* flags (tests/unit/mirror_flags_test.ts) and --registration-* flags
  // (tests/unit/register_args_test.ts) have landed.
});

Deno.test("run flags: an empty --sentry-dsn (as in the original's examples) means off", () => {
  const v = parseFlags(["--sentry-dsn="], RUN_FLAGS);
  strictEqual(v["sentry-dsn"], "");
});

Deno.test("numberFlag: ranges and integers, errors name the flag", () => {
  const v = parseFlags(["--management-port=99999", "--update-period=abc"], RUN_FLAGS);
  throws(
    () => numberFlag(v, "management-port", { min: 1, max: 65535 }),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === "--management-port: expected an integer 1-65535, got 99999",
  );
  throws(
    () => numberFlag(v, "update-period", { min: 0, fractional: true }),
    (e: unknown) => e instanceof UsageError && e.path === "--update-period",
  );
  strictEqual(numberFlag({ x: "0.5" }, "x", { min: 0, fractional: true }), 0.5);
});

Deno.test("requireString: missing --config is a usage error", () => {
  throws(
    () => requireString(parseFlags([], RUN_FLAGS), "config"),
    (e: unknown) => e instanceof UsageError && e.message === "--config: required",
  );
});

Deno.test("run flags: the state file is on by default, beside configuration_file; --state-file=PATH moves it, --state-file= turns it off", () => {
  const base = ["--management-port=8080", "--config={}"];
  const stateFile = (...more: string[]) =>
    runOptions(parseFlags([...base, ...more], RUN_FLAGS)).stateFile;
  strictEqual(stateFile(), undefined, "not given: the default");
  strictEqual(
    stateFile("--state-file=/var/lib/aurproxy/state.json"),
    "/var/lib/aurproxy/state.json",
  );
  strictEqual(stateFile("--state_file=/x.json"), "/x.json");
  strictEqual(stateFile("--state-file="), false);
  strictEqual(stateFile("--state-file", ""), false);
  const config = parseConfig({
    backend: "nginx",
    configuration_file: "/etc/aurproxy/nginx/nginx.conf",
    servers: [{
      ports: [8080],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "h", port: 1 }],
      }],
    }],
  });
  strictEqual(defaultStateFile(config), "/etc/aurproxy/nginx/aurproxy-state.json");
});
