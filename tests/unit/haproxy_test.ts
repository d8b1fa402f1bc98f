/**
 * The HAProxy backend's pure parts: options and refused context keys, slot planning,
 * runtime commands and read-back, rendering, reading a rendered file back.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { haproxyBackend } from "../../lib/backends/haproxy/kind.ts";
import { liveServers, readLayout, structureOf } from "../../lib/backends/haproxy/layout_file.ts";
import { DOTDOT_PASSES, normalisedPathRules } from "../../lib/backends/haproxy/normalised_path.ts";
import { renderHaproxy } from "../../lib/backends/haproxy/render.ts";
import { runtimeCommands, stateDifferences } from "../../lib/backends/haproxy/runtime_changes.ts";
import { parseServersState } from "../../lib/backends/haproxy/server_state.ts";
import { haproxyWeight, planSlots, type SlotLayout } from "../../lib/backends/haproxy/slots.ts";
import { optionsFor } from "../../lib/backends/table.ts";
import { parseConfig } from "../../lib/kinds.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { snapshot } from "../../testing/snapshots.ts";
import { configErrors } from "../../testing/usage_errors.ts";

const source = { source_class: "static", name: "a", host: "127.0.0.1", port: 9000 };

function config(top: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
  return {
    backend: "haproxy",
    servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }], ...server }],
    ...top,
  };
}

Deno.test("haproxy options: defaults beside the config file; every key of its own", () => {
  const o = optionsFor(haproxyBackend, parseConfig(config({ configuration_file: "/srv/h.cfg" })));
  deepStrictEqual(o, {
    configurationFile: "/srv/h.cfg",
    binary: "haproxy",
    pidPath: "/srv/haproxy.pid",
    masterSocket: "/srv/haproxy-master.sock",
    statsSocket: "/srv/haproxy-stats.sock",
    freeSlots: 8,
  });
  const set = optionsFor(
    haproxyBackend,
    parseConfig(config({
      haproxy_binary: "/opt/haproxy",
      haproxy_pid_path: "/run/h.pid",
      haproxy_master_socket: "/run/m.sock",
      haproxy_stats_socket: "/run/s.sock",
      haproxy_free_slots: 32,
    })),
  );
  deepStrictEqual(
    [set.binary, set.pidPath, set.masterSocket, set.statsSocket, set.freeSlots],
    ["/opt/haproxy", "/run/h.pid", "/run/m.sock", "/run/s.sock", 32],
  );
  strictEqual(
    optionsFor(haproxyBackend, parseConfig(config())).configurationFile,
    "/etc/aurproxy/haproxy/haproxy.cfg",
  );
  deepStrictEqual(configErrors(config({ nginx_pid_path: "/x" })), ["nginx_pid_path: unknown key"]);
});

Deno.test("haproxy options: nginx-only context keys and mirrors are refused, naming the key", () => {
  deepStrictEqual(configErrors(config({ context: { gzip: "on" } })), [
    "context.gzip: nginx-only, not supported by the haproxy backend: the HAProxy backend " +
    "does not compress responses",
  ]);
  deepStrictEqual(configErrors(config({}, { context: { proxy_buffers: "16 16k" } })), [
    "servers[0].context.proxy_buffers: nginx-only, not supported by the haproxy backend: " +
    "HAProxy sizes its buffers globally (tune.bufsize), not per proxy",
  ]);
  deepStrictEqual(configErrors(config({ context: { worker_connections: "lots" } })), [
    'context.worker_connections: expected a whole number for the haproxy backend, got "lots"',
  ]);
  const mirrored = config({}, {
    routes: [{ locations: ["/"], sources: [source], mirror_sources: [{ ...source, name: "m" }] }],
  });
  deepStrictEqual(configErrors(mirrored), [
    "servers[0].routes[0].mirror_sources: not supported by the haproxy backend (nginx " +
    "mirrors requests; HAProxy would need SPOE)",
  ]);
  // Mapped keys and keys neither backend knows are fine.
  parseConfig(config({ context: { proxy_read_timeout: 5, worker_processes: "auto", x: 1 } }));
  // The same keys are nginx's own with the nginx backend.
  parseConfig({ ...config({ context: { gzip: "on" } }), backend: "nginx" });
});

Deno.test("haproxy weights: aurproxy's 0..1000 on HAProxy's 0..256, a positive weight stays positive", () => {
  deepStrictEqual([0, 1, 2, 500, 999, 1000].map(haproxyWeight), [0, 1, 1, 128, 256, 256]);
});

const SNAP = snapshot([{ ports: [8080], routes: [{ locations: ["/"], ports: [9001, 9002] }] }]);
const at = (ports: number[], shares?: number[]): ProxySnapshot => {
  const s = snapshot([{ ports: [8080], routes: [{ locations: ["/"], ports, shares }] }]);
  const slug = SNAP.servers[0].routes[0].slug;
  return {
    ...s,
    servers: [{ ...s.servers[0], routes: [{ ...s.servers[0].routes[0], slug }] }],
  };
};
const slotsOf = (l: SlotLayout) =>
  [...l.values()][0].map((s) => s.endpoint ? `${s.name}=${s.endpoint.port}` : `${s.name}=-`);

Deno.test("haproxy slots: members keep their slot, joins take the first free one, a full backend grows", () => {
  const first = planSlots(at([9001, 9002]), undefined, 2);
  deepStrictEqual(slotsOf(first), ["p1=9001", "p2=9002", "p3=-", "p4=-"]);
  const left = planSlots(at([9002]), first, 2);
  deepStrictEqual(slotsOf(left), ["p1=-", "p2=9002", "p3=-", "p4=-"], "a leave frees its slot");
  const joined = planSlots(at([9002, 9003, 9004]), left, 2);
  deepStrictEqual(slotsOf(joined), ["p1=9003", "p2=9002", "p3=9004", "p4=-"]);
  const weighted = planSlots(at([9002, 9003, 9004], [1, 0.5, 0.2]), joined, 2);
  deepStrictEqual(slotsOf(weighted), slotsOf(joined), "a weight change renames nothing");
  const full = planSlots(at([9002, 9003, 9004, 9005, 9006]), joined, 2);
  deepStrictEqual(slotsOf(full), [
    "p1=9003",
    "p2=9002",
    "p3=9004",
    "p4=9005",
    "p5=9006",
    "p6=-",
    "p7=-",
    "p8=-",
  ]);
});

Deno.test("haproxy runtime: commands fill, reweigh and free slots; the read-back says what differs", () => {
  const a = planSlots(at([9001, 9002]), undefined, 2);
  const b = planSlots(at([9002, 9003], [1, 0.5]), a, 2);
  const slug = SNAP.servers[0].routes[0].slug;
  deepStrictEqual(runtimeCommands(a, b), [
    `set server ${slug}/p1 addr 127.0.0.1 port 9003`,
    `set server ${slug}/p1 weight 128`,
  ]);
  const free = planSlots(at([9002]), b, 2);
  deepStrictEqual(runtimeCommands(b, free), [
    `set server ${slug}/p1 state maint`,
  ]);
  const fromFree = planSlots(at([9002, 9007]), free, 2);
  deepStrictEqual(runtimeCommands(free, fromFree), [
    `set server ${slug}/p1 addr 127.0.0.1 port 9007`,
    `set server ${slug}/p1 weight 256`,
    `set server ${slug}/p1 state ready`,
  ]);
  const state = parseServersState(
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " +
      "srv_iweight srv_time_since_last_change srv_check_status srv_check_result " +
      "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id " +
      "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr " +
      "srv_agent_addr srv_agent_port\n" +
      `3 ${slug} 1 p1 127.0.0.1 2 4 256 1 0 1 0 0 8 0 0 0 - 9007 - 0 0 - - 0\n` +
      `3 ${slug} 2 p2 127.0.0.1 2 0 200 256 0 1 0 2 0 0 0 0 - 9002 - 0 0 - - 0\n` +
      `3 ${slug} 3 p3 0.0.0.0 0 5 1 1 0 1 0 0 8 0 0 0 - 0 - 0 0 - - 0\n`,
  );
  deepStrictEqual(stateDifferences(fromFree, state), [
    `${slug}/p2 has weight 200, not 256`,
    `${slug}/p4 is missing`,
  ]);
});

Deno.test("haproxy render: deterministic; a weight change or a join keeps the structure, a new route does not", () => {
  const opts = (layout: SlotLayout) => ({ pidPath: "/p", statsSocket: "/s", layout });
  const a = planSlots(at([9001, 9002]), undefined, 4);
  const text = renderHaproxy(at([9001, 9002]), opts(a));
  strictEqual(renderHaproxy(structuredClone(at([9001, 9002])), opts(a)), text);
  const b = planSlots(at([9001, 9003], [0.5, 1]), a, 4);
  const joined = renderHaproxy(at([9001, 9003], [0.5, 1]), opts(b));
  ok(joined !== text);
  strictEqual(structureOf(joined), structureOf(text));
  const routes = snapshot([{
    ports: [8080],
    routes: [{ locations: ["/"], ports: [9001] }, { locations: ["/x/"], ports: [9002] }],
  }]);
  const more = renderHaproxy(routes, opts(planSlots(routes, a, 4)));
  ok(structureOf(more) !== structureOf(text));
  // Read back: the same layout, the servers that take traffic.
  deepStrictEqual(readLayout(joined), b);
  const live = [...liveServers(readLayout(joined)).values()][0];
  deepStrictEqual(live.map((s) => [s.port, s.weight, s.pool, s.source]), [
    [9001, 128, "primary", "test"],
    [9003, 256, "primary", "test"],
  ]);
});

Deno.test("haproxy render: nginx's precedence as rule order (exact, longest prefix), nginx times get units", () => {
  const snap = snapshot([{
    ports: [8080],
    healthcheckRoute: "/health",
    context: { location_blacklist: ["/health/private"], proxy_read_timeout: 5 },
    routes: [{ locations: ["/", "= /exact", "/a/b/"], ports: [9001] }],
  }]);
  const text = renderHaproxy(snap, { pidPath: "/p", statsSocket: "/s", layout: new Map() });
  const order = [
    ...text.matchAll(/set-var\(txn\.loc\) str\(\w+\) if (\{ var\(txn\.uri\) -m \w+ \S+ \})/g),
  ].map((m) => m[1]);
  deepStrictEqual(order, [
    "{ var(txn.uri) -m str /exact }",
    "{ var(txn.uri) -m str /a/b }",
    "{ var(txn.uri) -m beg /health/private }",
    "{ var(txn.uri) -m beg /health }",
    "{ var(txn.uri) -m beg /a/b/ }",
    "{ var(txn.uri) -m beg / }",
  ]);
  ok(text.includes("    timeout server 5s\n"), "a bare nginx number is seconds");
  ok(text.includes("redirect code 301 location /a/b/ if"), "/a/b redirects to /a/b/");
});

Deno.test("haproxy render: locations match the path as nginx normalises it; the request is forwarded as sent", () => {
  const snap = snapshot([
    { hosts: ["a.test"], ports: [8080], routes: [{ locations: ["/"], ports: [9001] }] },
    {
      hosts: ["b.test"],
      ports: [8080],
      context: { location_blacklist: ["/admin"] },
      routes: [{ locations: ["= /x"], ports: [9002] }],
    },
  ]);
  const text = renderHaproxy(snap, { pidPath: "/p", statsSocket: "/s", layout: new Map() });
  const frontend = text.slice(text.indexOf("frontend http_8080"));
  const rules = frontend.split("\n").filter((l) => l.startsWith("    http-request"));
  // Normalised first (a bad path is nginx's 400 before anything else), then the body limit.
  deepStrictEqual(rules.slice(0, 3), normalisedPathRules());
  ok(rules[3].includes("deny_status 413"));
  // A path with nothing to normalise is copied; only the others are decoded and rewritten.
  ok(rules[0].endsWith("set-var(txn.uri) path if !{ path_sub % // /. }"));
  const chain = rules[1].match(
    /set-var\(txn\.uri\) path,(.*) unless \{ var\(txn\.uri\) -m found \}$/,
  );
  ok(chain, rules[1]);
  ok(chain[1].startsWith("regsub(%00,%zz,g),url_dec,regsub(//+,/,g),"), chain[1]);
  strictEqual(chain[1].split(String.raw`[^/]+/\.\.`).length - 1, DOTDOT_PASSES);
  ok(
    rules[2].includes(
      "deny_status 400 if !{ var(txn.uri) -m found } || { var(txn.uri) -m sub /../ }",
    ),
  );
  // Every location, of every kind and virtual host, matches on the normalised copy.
  const locs = rules.filter((l) => l.includes("set-var(txn.loc)"));
  ok(locs.length >= 3);
  for (const l of locs) ok(/\{ var\(txn\.uri\) -m (str|beg) \/\S* \}/.test(l), l);
  ok(!/\{ path(_beg)? /.test(frontend), "no location on the raw path");
  // Nothing rewrites what is forwarded (nginx's proxy_pass without a URI part).
  ok(!/set-path|set-uri|normalize-uri|set-query/.test(text));
});

Deno.test("haproxy render: the access log as nginx's (on by default to stdout; off: no per-request log)", () => {
  const render = (context: Record<string, unknown>) =>
    renderHaproxy(
      snapshot([{ ports: [8080], routes: [{ locations: ["/"], ports: [9001] }] }], context),
      { pidPath: "/p", statsSocket: "/s", layout: new Map() },
    );
  const on = render({});
  ok(on.includes("    log stdout format raw local0 info\n"), on);
  ok(on.includes("    option httplog\n"), on);
  for (const off of [render({ access_log: "off" }), render({ access_log: false })]) {
    ok(!/^\s*(log|option httplog)\b/m.test(off), off);
  }
});

Deno.test("haproxy render: a port of one route at one location tests it directly (no location variable)", () => {
  const text = renderHaproxy(SNAP, { pidPath: "/p", statsSocket: "/s", layout: new Map() });
  const frontend = text.slice(text.indexOf("frontend "), text.indexOf("\nbackend "));
  // Only the normalised path is set (as for every port), no location variable.
  ok(!frontend.includes("set-var(txn.loc)") && !frontend.includes("set-var(txn.vh)"), frontend);
  ok(
    frontend.includes("    http-request return status 404 if !{ var(txn.uri) -m beg / }\n"),
    frontend,
  );
  ok(/http-request return status \d+ if \{ nbsrv\(\S+\) eq 0 \} !\{ stopping \}/.test(frontend));
  ok(/^ {4}default_backend \S+$/m.test(frontend), frontend);
});
