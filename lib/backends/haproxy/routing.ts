/**
 * HTTP routing as nginx does it, in HAProxy rules. For each port:
 * - the server (virtual host) by `Host`, port stripped, case-insensitive: an exact name,
 *   then the longest `*.suffix` name, then the longest `prefix.*` name, then the port's
 *   `default_server`, else the first server on the port (nginx's order);
 * - within it the location by path, matched on the path as nginx normalises it (decoded,
 *   `//` merged, dot segments resolved: `normalised_path.ts`) while the request is
 *   forwarded unchanged: an exact `= /path` first, then the longest prefix (`/api`,
 *   `^~ /api`), whichever kind declared it (health route, blacklist, route);
 * - then the location's action: 200 for the health route, 403 for a blacklisted one
 *   (nginx's `deny all`), the route's backend, or its `empty_endpoint_status_code` while
 *   the backend has no usable server; a path no location matches is 404. An old worker
 *   draining after a reload counts no usable server in its stopped backends (`nbsrv` is
 *   0 there), so the empty-route answer is left to the current worker (`!{ stopping }`):
 *   requests the old one still reads go to the backend as before;
 * - a request for a proxied prefix location without its trailing slash (`/api` for a
 *   route at `/api/`) is redirected to it (301), as nginx does for `proxy_pass`.
 *
 * A path no location matches is 404 here; nginx would serve its compiled-in document
 * root there (a 403, a 404 or its welcome page, depending on the installation).
 *
 * Both picks are kept in transaction variables (`txn.vh`, `txn.loc`), set by the first
 * rule that matches, so rule order encodes the precedence.
 *
 * @module
 */

import type { Context } from "../../model/config.ts";
import type { ServerSnapshot } from "../../model/snapshot.ts";
import { isTrue } from "../../config/context.ts";
import { bodyLimit, ctx, haproxyTime } from "./context_map.ts";
import { normalisedPathRules, pathCondition } from "./normalised_path.ts";

/** One location of a server and what answers it. */
interface Location {
  readonly id: string;
  readonly exact: boolean;
  readonly path: string;
  readonly action:
    | { readonly kind: "health" }
    | { readonly kind: "deny" }
    | { readonly kind: "route"; readonly backend: string; readonly empty: number }
    | { readonly kind: "redirect"; readonly to: string; readonly backend: string };
}

function parseLocation(s: string): { exact: boolean; path: string } {
  const m = /^(=|\^~)? *(\/.*)$/.exec(s);
  return { exact: m?.[1] === "=", path: m?.[2] ?? s };
}

/** A server's locations in the order nginx would prefer them. */
export function locationsOf(s: ServerSnapshot, vh: number): Location[] {
  const out: Location[] = [];
  const add = (loc: string, action: Location["action"]) =>
    out.push({ id: `v${vh}l${out.length}`, ...parseLocation(loc), action });
  if (s.healthcheckRoute) add(s.healthcheckRoute, { kind: "health" });
  const blacklist = s.context.location_blacklist;
  if (Array.isArray(blacklist)) { for (const l of blacklist) add(String(l), { kind: "deny" }); }
  for (const r of s.routes) {
    for (const l of r.locations) {
      add(l, { kind: "route", backend: r.slug, empty: r.emptyEndpointStatusCode });
    }
  }
  // nginx answers a request for a proxied prefix location without its trailing slash
  // (`/api` for `/api/`) with a 301 to it, unless a location names that path itself.
  const paths = new Set(out.map((l) => l.path));
  const redirects: Location[] = out.flatMap((l) =>
    l.action.kind === "route" && !l.exact && l.path.length > 1 && l.path.endsWith("/") &&
      !paths.has(l.path.slice(0, -1))
      ? [{
        id: `${l.id}r`,
        exact: true,
        path: l.path.slice(0, -1),
        action: { kind: "redirect" as const, to: l.path, backend: l.action.backend },
      }]
      : []
  );
  // Stable: equal prefixes cannot happen (the config refuses duplicate locations). A
  // redirect yields to a real exact location.
  const rank = (l: Location) => (l.exact ? (l.action.kind === "redirect" ? 1 : 0) : 2);
  return [...out, ...redirects].sort((a, b) =>
    rank(a) !== rank(b) ? rank(a) - rank(b) : b.path.length - a.path.length
  );
}

/** A server's names by nginx's kinds; `default`, `_` and none name nothing. */
function namesOf(s: ServerSnapshot) {
  const names = s.hosts.map((h) => h.toLowerCase()).filter((h) => h !== "default" && h !== "_");
  return {
    exact: names.filter((h) => !h.includes("*")),
    leading: names.filter((h) => h.startsWith("*.")).map((h) => h.slice(1)),
    trailing: names.filter((h) => h.endsWith(".*")).map((h) => h.slice(0, -1)),
  };
}

const unset = (v: string) => `!{ var(txn.${v}) -m found }`;

/** Rules that set `txn.vh` to the index of the server `Host` selects. */
function hostRules(servers: readonly ServerSnapshot[]): string[] {
  if (servers.length === 1) return [];
  const rules: string[] = [
    "    http-request set-var(txn.host) req.hdr(host),lower,regsub(:[0-9]+$,)",
  ];
  const set = (i: number, cond: string) =>
    rules.push(`    http-request set-var(txn.vh) int(${i}) if ${cond} ${unset("vh")}`);
  const named = servers.map(namesOf);
  named.forEach((n, i) => {
    if (n.exact.length) set(i, `{ var(txn.host) -m str ${n.exact.join(" ")} }`);
  });
  const wild = (kind: "leading" | "trailing", m: string) =>
    named.flatMap((n, i) => n[kind].map((w) => ({ i, w })))
      .sort((a, b) => b.w.length - a.w.length)
      .forEach(({ i, w }) => set(i, `{ var(txn.host) -m ${m} ${w} }`));
  wild("leading", "end");
  wild("trailing", "beg");
  const def = Math.max(0, servers.findIndex((s) => isTrue(s.context.default_server)));
  rules.push(`    http-request set-var(txn.vh) int(${def}) if ${unset("vh")}`);
  return rules;
}

/**
 * The rules of a port with one server and one location, a route (the common `/`): its
 * match and its action tested directly, with no variable to set and read back. The same
 * answers as the general rules; about 5 % more requests a second (bench/README.md).
 */
function oneRouteRules(l: Location): string[] | undefined {
  if (l.action.kind !== "route") return undefined;
  const { backend, empty } = l.action;
  // On nginx's normalised path, as every location (normalised_path.ts).
  const match = pathCondition(l.exact, l.path);
  return [
    `    http-request return status 404 if !${match}`,
    `    http-request return status ${empty} if { nbsrv(${backend}) eq 0 } !{ stopping }`,
    `    default_backend ${backend}`,
  ];
}

/** The routing rules of a port: the server by `Host`, the location by path, its action. */
function rulesOf(servers: readonly ServerSnapshot[]): string[] {
  const multi = servers.length > 1;
  if (!multi) {
    const locations = locationsOf(servers[0], 0);
    const one = locations.length === 1 ? oneRouteRules(locations[0]) : undefined;
    if (one) return one;
  }
  const locRules: string[] = [];
  const actions: string[] = [];
  const backends: string[] = [];
  servers.forEach((s, i) => {
    const vh = multi ? `{ var(txn.vh) -m int ${i} } ` : "";
    for (const l of locationsOf(s, i)) {
      const match = pathCondition(l.exact, l.path);
      // Only a proxied location redirects: nginx answers an empty one itself.
      const live = l.action.kind === "redirect" ? ` { nbsrv(${l.action.backend}) gt 0 }` : "";
      locRules.push(
        `    http-request set-var(txn.loc) str(${l.id}) if ${vh}${match}${live} ${unset("loc")}`,
      );
      const at = `{ var(txn.loc) -m str ${l.id} }`;
      if (l.action.kind === "health") actions.push(`    http-request return status 200 if ${at}`);
      if (l.action.kind === "redirect") {
        const to = l.action.to;
        actions.push(
          `    http-request redirect code 301 location ${to}?%[query] if ${at} { query -m found }`,
          `    http-request redirect code 301 location ${to} if ${at}`,
        );
      }
      if (l.action.kind === "deny") {
        actions.push(`    http-request deny deny_status 403 if ${at}`);
      }
      if (l.action.kind === "route") {
        const { backend, empty } = l.action;
        actions.push(
          `    http-request return status ${empty} if ${at} { nbsrv(${backend}) eq 0 } !{ stopping }`,
        );
        backends.push(`    use_backend ${backend} if ${at}`);
      }
    }
  });
  return [
    ...hostRules(servers),
    ...locRules,
    ...actions,
    `    http-request return status 404 if ${unset("loc")}`,
    ...backends,
  ];
}

function frontend(port: number, servers: readonly ServerSnapshot[], c: Context): string {
  // nginx's send_timeout, of the port's first server (HAProxy has one per frontend).
  const timeout = haproxyTime(ctx(servers[0].context, "send_timeout", 60));
  return `frontend http_${port}
    mode http
    bind :${port}
    timeout client ${timeout}
    # After a reload the old worker keeps an idle kept-alive connection until its next
    # request, answered with "Connection: close", instead of closing it while the client
    # may be sending on it (a request lost). Bounded by hard-stop-after.
    option idle-close-on-response
${c.access_log === false || c.access_log === "off" ? "" : "    option httplog\n"}${
    normalisedPathRules().join("\n")
  }
${bodyLimit(c)}${rulesOf(servers).join("\n")}
`;
}

/** The `overflow_port` of a server: a frontend that answers 502 to everything. */
function overflowFrontend(port: number): string {
  return `frontend overflow_${port}
    mode http
    bind :${port}
    http-request return status 502
`;
}

/**
 * A frontend per HTTP port, its servers in config order (nginx's order for the default).
 *
 * @example
 * ```ts
 * httpFrontends([], {}); // []
 * ```
 */
export function httpFrontends(servers: readonly ServerSnapshot[], c: Context): string[] {
  const byPort = new Map<number, ServerSnapshot[]>();
  for (const s of servers) {
    for (const p of s.ports) byPort.set(p, [...(byPort.get(p) ?? []), s]);
  }
  const out = [...byPort].map(([port, list]) => frontend(port, list, c));
  for (const s of servers) {
    const op = s.context.overflow_port;
    if (op !== undefined && op !== null && op !== "") out.push(overflowFrontend(Number(op)));
  }
  return out;
}
