/**
 * nginx's own mirroring of a route (`mirror_sources`): the route's locations copy each
 * request to an internal location (`mirror`), which proxies a `split_clients` sample of
 * them to the mirror pool's upstream; nginx throws the mirror's answers away, so the
 * client's answer is the primary's alone.
 *
 * What a mirror costs the client is what nginx imposes: its answer is sent as soon as
 * the primary's is, but nginx finishes the request (and reads the next one of a
 * kept-alive connection, or closes a `Connection: close` one) only once the copy is
 * done. So the copy's timeouts are short (`mirror_connect_timeout`, `mirror_timeout`,
 * see `MIRROR_DEFAULTS`), it is never retried on another mirror endpoint, and a route
 * whose mirror pool has no live endpoint does not mirror at all. With
 * `mirror_request_body` (the default), nginx reads the whole request body before
 * proxying the request, even to the primary.
 *
 * @module
 */

import type { MirrorSnapshot, RouteSnapshot, ServerSnapshot } from "../../model/snapshot.ts";

const live = (u: { readonly endpoints: readonly { readonly weight: number }[] }) =>
  u.endpoints.some((e) => e.weight > 0);

/** The route's mirror when requests are copied to it now, else undefined. */
export function activeMirror(r: RouteSnapshot): MirrorSnapshot | undefined {
  const m = r.mirror;
  return m && m.percent > 0 && live(r) && live(m) ? m : undefined;
}

const variable = (r: RouteSnapshot) => `$aurproxy_mirror_${r.slug}`;
const uri = (r: RouteSnapshot) => `/_aurproxy_mirror/${r.slug}`;
const ms = (seconds: number) => `${Math.max(1, Math.round(seconds * 1000))}ms`;

/** The mirror pools to render as upstreams. */
export function mirrorUpstreams(servers: readonly ServerSnapshot[]): MirrorSnapshot[] {
  return servers.flatMap((s) => s.routes.flatMap((r) => activeMirror(r) ?? []));
}

/** The `split_clients` of every route copying only a share of its requests (http{}). */
export function mirrorSplits(servers: readonly ServerSnapshot[]): string {
  return servers.flatMap((s) => s.routes).map((r) => {
    const m = activeMirror(r);
    if (!m || m.percent >= 100) return "";
    return `    # ${m.percent}% of the requests of ${r.slug} are copied to ${m.slug}
    split_clients "${m.key}" ${variable(r)} {
        ${m.percent}% 1;
        * "";
    }
`;
  }).join("");
}

/** The lines a mirrored route's location gets (indented for a location block). */
export function mirrorDirectives(r: RouteSnapshot): string {
  const m = activeMirror(r);
  if (!m) return "";
  return `            mirror ${uri(r)};
            mirror_request_body ${m.requestBody ? "on" : "off"};
`;
}

/** The internal location that sends the copies of a mirrored route (a server's). */
export function mirrorLocation(r: RouteSnapshot): string {
  const m = activeMirror(r);
  if (!m) return "";
  const sample = m.percent < 100
    ? `            if (${variable(r)} = "") {
                return 204;
            }
`
    : "";
  // proxy_set_header here replaces the server's, so they are repeated with the change.
  const noBody = m.requestBody ? "" : `            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Connection "";
`;
  return `        location = ${uri(r)} {
            internal;
${sample}            proxy_pass http://${m.slug}$request_uri;
            proxy_connect_timeout ${ms(m.connectTimeoutSeconds)};
            proxy_send_timeout ${ms(m.timeoutSeconds)};
            proxy_read_timeout ${ms(m.timeoutSeconds)};
            proxy_next_upstream off;
${noBody}        }
`;
}
