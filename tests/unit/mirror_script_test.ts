import { deepStrictEqual, strictEqual, throws } from "node:assert";
import {
  FALLBACK_ARGV,
  FALLBACK_MESSAGE,
  gorArgv,
  type GorScriptSpec,
  mirrorCommand,
} from "../../lib/mirror/gor_script.ts";
import { classifyCmdline, parsePidFile, runsCommand } from "../../lib/mirror/mirror_process.ts";
import { parseProcCmdline, parseProcStat } from "../../lib/mirror/process_table.ts";
import { doubleQuotedWord, shellWord, singleQuote } from "../../lib/mirror/shell_quote.ts";

const MIRROR: GorScriptSpec = {
  mode: "mirror",
  gorPath: "/opt/go/bin/gor",
  pidPath: "/tmp/mirror_pid",
  ports: [8080, 8081],
  maxQps: 100,
};
const REPLAY: GorScriptSpec = { ...MIRROR, mode: "replay", ports: [12346], maxQps: 1000 };
const ID = { gorPath: "/opt/go/bin/gor", commandPath: "/etc/aurproxy/gor/dynamic.sh" };

Deno.test("gor script: mirror lines and flags as the original's template", () => {
  const c = mirrorCommand(MIRROR, [{ host: "10.0.0.2", port: 9000 }, {
    host: "10.0.0.1",
    port: 9000,
  }]);
  strictEqual(c.kind, "gor");
  strictEqual(
    c.script,
    "#!/bin/bash\n" +
      "echo $$ > /tmp/mirror_pid\n" +
      "exec /opt/go/bin/gor -output-http-stats -stats --input-raw :8080 --input-raw :8081" +
      ' --output-tcp "10.0.0.1:9000|100" --output-tcp "10.0.0.2:9000|100"\n',
  );
  deepStrictEqual(c.argv, [
    "/opt/go/bin/gor",
    "-output-http-stats",
    "-stats",
    "--input-raw",
    ":8080",
    "--input-raw",
    ":8081",
    "--output-tcp",
    "10.0.0.1:9000|100",
    "--output-tcp",
    "10.0.0.2:9000|100",
  ]);
});

Deno.test("gor script: replay listens on the replay port and sends over HTTP", () => {
  const c = mirrorCommand(REPLAY, [{ host: "web-1.example.com", port: 80 }]);
  strictEqual(
    c.script,
    "#!/bin/bash\n" +
      "echo $$ > /tmp/mirror_pid\n" +
      "exec /opt/go/bin/gor -output-http-stats -stats --input-tcp 0.0.0.0:12346" +
      ' --output-http "web-1.example.com:80|1000"\n',
  );
});

Deno.test("gor script: targets sorted and deduplicated, IPv6 bracketed", () => {
  const a = gorArgv(MIRROR, [
    { host: "10.0.0.9", port: 1 },
    { host: "::1", port: 80 },
    { host: "10.0.0.9", port: 1 },
  ]);
  const b = gorArgv(MIRROR, [{ host: "::1", port: 80 }, { host: "10.0.0.9", port: 1 }]);
  deepStrictEqual(a, b);
  deepStrictEqual(a.slice(-4), ["--output-tcp", "10.0.0.9:1|100", "--output-tcp", "[::1]:80|100"]);
});

Deno.test("gor script: no targets gives the placeholder, in bash, printing the original's message", () => {
  const c = mirrorCommand(MIRROR, []);
  strictEqual(c.kind, "fallback");
  const lines = c.script.split("\n");
  strictEqual(lines[0], "#!/bin/bash");
  strictEqual(lines[1], "echo $$ > /tmp/mirror_pid");
  strictEqual(lines[2].startsWith("exec /bin/bash -c "), true, lines[2]);
  strictEqual(lines[2].endsWith(`'${FALLBACK_MESSAGE}'`), true, lines[2]);
  strictEqual(c.script.includes("python"), false);
  strictEqual(c.script.includes("sleep 10"), true);
  deepStrictEqual(c.argv, FALLBACK_ARGV);
});

Deno.test("gor script: hostile hosts and paths are quoted, never bare", () => {
  const hostile = [
    "$(touch /tmp/pwned)",
    "`id`",
    '"; reboot; "',
    "a'b",
    "x\ny",
    "* ?",
    "${HOME}",
    "a|b&c;d",
  ];
  for (const host of hostile) {
    const c = mirrorCommand({ ...MIRROR, pidPath: `/tmp/${host}` }, [{ host, port: 80 }]);
    const exec = c.script.split("\n").slice(2).join("\n");
    strictEqual(exec.includes(`'${host.replaceAll("'", `'\\''`)}:80|100'`), true, exec);
    strictEqual(c.script.includes(`echo $$ > '/tmp/${host.replaceAll("'", `'\\''`)}'`), true);
  }
  // Operator paths with spaces are quoted too.
  const spaced = mirrorCommand({ ...MIRROR, gorPath: "/opt/my gor" }, [{ host: "h", port: 1 }]);
  strictEqual(spaced.script.includes("exec '/opt/my gor' -output-http-stats"), true);
});

Deno.test("shell quoting: bare and double-quoted only for plain characters; NUL refused", () => {
  strictEqual(shellWord("/tmp/mirror_pid"), "/tmp/mirror_pid");
  strictEqual(shellWord("a b"), "'a b'");
  strictEqual(shellWord("[x]"), "'[x]'");
  strictEqual(doubleQuotedWord("[::1]:80|5"), '"[::1]:80|5"');
  strictEqual(doubleQuotedWord("$x"), "'$x'");
  strictEqual(doubleQuotedWord("!x"), "'!x'");
  strictEqual(singleQuote("it's"), "'it'\\''s'");
  throws(() => shellWord("a\0b"), TypeError);
});

Deno.test("gor script: ports and qps are checked", () => {
  throws(() => gorArgv({ ...MIRROR, ports: [] }, []), RangeError);
  throws(() => gorArgv({ ...MIRROR, ports: [0] }, []), RangeError);
  throws(() => gorArgv({ ...MIRROR, ports: [1.5] }, []), RangeError);
  throws(() => gorArgv({ ...MIRROR, maxQps: 0 }, []), RangeError);
});

Deno.test("mirror process: gor, gor as a script, the placeholder and the script itself are ours", () => {
  const want = mirrorCommand(MIRROR, [{ host: "10.0.0.1", port: 9000 }]);
  const gor = classifyCmdline(want.argv, ID);
  strictEqual(gor.kind, "gor");
  strictEqual(runsCommand(gor, want), true);
  const wrapped = classifyCmdline(["/bin/bash", ...want.argv], ID);
  strictEqual(wrapped.kind, "gor");
  strictEqual(runsCommand(wrapped, want), true);
  const other = mirrorCommand(MIRROR, [{ host: "10.0.0.2", port: 9000 }]);
  strictEqual(runsCommand(gor, other), false);
  const fb = classifyCmdline(FALLBACK_ARGV, ID);
  strictEqual(fb.kind, "fallback");
  strictEqual(runsCommand(fb, mirrorCommand(MIRROR, [])), true);
  strictEqual(runsCommand(fb, want), false);
  strictEqual(classifyCmdline(["/bin/bash", ID.commandPath], ID).kind, "script");
  strictEqual(classifyCmdline(["bash", ID.commandPath], ID).kind, "script");
});

Deno.test("mirror process: anything else is foreign", () => {
  for (
    const argv of [
      ["/usr/sbin/nginx", "-g", "daemon off;"],
      ["/opt/go/bin/gor"], // gor, but not as the script runs it
      ["sleep", "/opt/go/bin/gor", "x", "-output-http-stats"],
      ["grep", FALLBACK_MESSAGE], // the message, but not the placeholder
      ["/bin/bash", "/etc/other.sh"],
      ["/bin/bash", ID.commandPath, "extra"],
      [],
    ]
  ) {
    strictEqual(classifyCmdline(argv, ID).kind, "foreign", JSON.stringify(argv));
  }
});

Deno.test("pid file: only a plain pid above 1", () => {
  strictEqual(parsePidFile("4242\n"), 4242);
  strictEqual(parsePidFile(" 77 "), 77);
  for (const t of ["", "0", "1", "-1", "12abc", "1e3", "0x10", "99999999999", "1 2"]) {
    strictEqual(parsePidFile(t), undefined, t);
  }
});

Deno.test("/proc parsing: command names with spaces and parentheses", () => {
  const stat = "42 (my (odd) gor) S 1 42 42 0 -1 4194560 99 0 0 0 0 0 0 0 20 0 1 0 123456 1 2";
  deepStrictEqual(parseProcStat(stat), { state: "S", startTime: "123456" });
  strictEqual(parseProcStat("42 (gor) S 1"), undefined);
  deepStrictEqual(parseProcCmdline("a\0b c\0\0"), ["a", "b c", ""]);
  deepStrictEqual(parseProcCmdline(""), []);
});
