// The runtime API's parsers on output captured from Debian's HAProxy 2.6.12
// (tests/fixtures/haproxy/, written by a real HAProxy with a drained server, a filled
// slot, a free slot and a dynamic server just added).
import { deepStrictEqual as assertEquals, throws } from "node:assert";
import { failureOf } from "../../lib/backends/haproxy/cli_reply.ts";
import { promptRequest, splitPromptReplies } from "../../lib/backends/haproxy/cli_socket.ts";
import { parseShowProc } from "../../lib/backends/haproxy/proc_list.ts";
import { parseServersState } from "../../lib/backends/haproxy/server_state.ts";
import { parseStatCsv, statNumber } from "../../lib/backends/haproxy/stat_csv.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`../fixtures/haproxy/${name}`, import.meta.url));

Deno.test("haproxy show servers state: every server by header name, states from the admin bits", () => {
  const rows = parseServersState(fixture("show_servers_state.txt"));
  assertEquals(
    rows.map((
      r,
    ) => [
      r.backend,
      r.server,
      r.address,
      r.port,
      r.weight,
      r.initialWeight,
      r.operState,
      r.adminState,
    ]),
    [
      ["b", "a", "127.0.0.1", 40943, 10, 10, "running", "drain"],
      // `disabled` in the config leaves bit 0x04 after `state ready`: not maintenance.
      ["b", "slot1", "127.0.0.1", 9, 7, 1, "running", "ready"],
      ["b", "slot2", "0.0.0.0", 0, 1, 1, "stopped", "maint"],
      // A dynamic server starts in forced maintenance.
      ["b", "dyn", "127.0.0.1", 10, 3, 3, "stopped", "maint"],
    ],
  );
  assertEquals(rows[1].adminFlags, 4);
  assertEquals(rows[0].columns.srv_check_state, "0");
  assertEquals(rows[0].fqdn, undefined);
});

Deno.test("haproxy show servers state: columns are found by name, not position", () => {
  const text =
    "1\n# srv_name be_name srv_port srv_addr be_id srv_id srv_op_state srv_admin_state " +
    "srv_uweight srv_iweight srv_time_since_last_change srv_fqdn new_column\n" +
    "s1 web 8080 10.0.0.1 7 2 2 0 12 12 30 web1.example 42\n";
  const [r] = parseServersState(text);
  assertEquals([r.backend, r.server, r.address, r.port, r.weight, r.fqdn], [
    "web",
    "s1",
    "10.0.0.1",
    8080,
    12,
    "web1.example",
  ]);
  assertEquals(r.columns.new_column, "42");
});

Deno.test("haproxy show servers state: another format or an error reply is refused", () => {
  throws(() => parseServersState("2\n# be_id be_name\n"), /not format 1/);
  throws(() => parseServersState("Can't find backend 'x'.\n"), /not format 1/);
  // An empty table (no servers) is not an error.
  assertEquals(parseServersState("1\n# be_id be_name srv_id srv_name\n\n"), []);
});

Deno.test("haproxy show stat: rows typed, counters by column name", () => {
  const rows = parseStatCsv(fixture("show_stat.csv"));
  assertEquals(
    rows.map((r) => [r.proxy, r.name, r.type, r.status]),
    [
      ["f", "FRONTEND", "frontend", "OPEN"],
      ["b", "a", "server", "DRAIN"],
      ["b", "slot1", "server", "no check"],
      ["b", "slot2", "server", "MAINT"],
      ["b", "dyn", "server", "MAINT"],
      ["b", "BACKEND", "backend", "UP"],
    ],
  );
  assertEquals(statNumber(rows[1], "stot"), 5);
  assertEquals(statNumber(rows[1], "hrsp_2xx"), 5);
  assertEquals(statNumber(rows[1], "weight"), 10);
  assertEquals(statNumber(rows[0], "qcur"), undefined);
  throws(() => parseStatCsv("Unknown command\n"), /no CSV header/);
});

Deno.test("haproxy show proc: master, workers, old workers and failed reloads", () => {
  const fresh = parseShowProc(fixture("show_proc.txt"));
  assertEquals(fresh.master.type, "master");
  assertEquals(fresh.failedReloads, 0);
  assertEquals(fresh.workers.length, 1);
  assertEquals(fresh.oldWorkers, []);
  // Captured after a reload whose config did not load: the worker stays current.
  const failed = parseShowProc(
    "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
      "3473            master          2 [failed: 1]   0d00h00m02s     2.6.12-1+deb12u4\n" +
      "# workers\n3583            worker          1               0d00h00m01s     2.6.12-1+deb12u4\n" +
      "# old workers\n3488            worker          2               0d00h00m02s     2.6.12-1+deb12u4\n" +
      "# programs\n\n",
  );
  assertEquals([failed.master.pid, failed.master.reloads, failed.failedReloads], [3473, 2, 1]);
  assertEquals(failed.workers.map((w) => [w.pid, w.reloads]), [[3583, 1]]);
  assertEquals(failed.oldWorkers.map((w) => w.pid), [3488]);
  throws(() => parseShowProc("Permission denied\n"), /no master line/);
});

Deno.test("haproxy CLI replies: HAProxy 2.6's failure phrases are failures, its successes not", () => {
  const failures = [
    "No such server.",
    "No such backend.",
    "Require 'backend/server'.",
    "Absolute weight can only be between 0 and 256 inclusive.",
    "'set server <srv> state' expects 'ready', 'drain' and 'maint'.",
    "Invalid addr '999.1.1.1' by 'stats socket command'",
    "Only servers in maintenance mode can be deleted.",
    "Unknown command, but maybe one of the following ones is a better match:\n  add acl …",
  ];
  for (const f of failures) assertEquals(failureOf(`${f}\n\n`), f.split("\n")[0], f);
  const successes = [
    "",
    "\n",
    "New server registered.\n\n",
    "Server deleted.\n",
    "IP changed from '0.0.0.0' to '127.0.0.1', port changed from '+0' to '18902' by 'stats socket command'\n\n",
  ];
  for (const s of successes) assertEquals(failureOf(s), undefined, s);
});

Deno.test("haproxy CLI: answers in prompt mode split one per command, `;` ones included", () => {
  assertEquals(promptRequest(["a", "b"]), "prompt\na\nb\nquit\n");
  // Captured: "prompt; set server b/a weight 3; set server b/zz weight 1; del server b/dyn;
  // set server b weight 1" (del server's answer has no blank line after it).
  const text = "\n> \n> No such server.\n\n> Server deleted.\n> Require 'backend/server'.\n\n> ";
  assertEquals(splitPromptReplies(text, 4), [
    "",
    "No such server.",
    "Server deleted.",
    "Require 'backend/server'.",
  ]);
  // HAProxy stopped answering early.
  assertEquals(splitPromptReplies("\n> \n> ", 3), undefined);
});
