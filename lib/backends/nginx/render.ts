/**
 * nginx.conf for a snapshot: a pure function of plain data, so the same snapshot always
 * renders the same text (an unchanged render means no reload).
 *
 * Safety: hosts come from registries but were validated as hostnames or IP literals;
 * config strings were checked for nginx syntax by the config parser; audit comments are
 * stripped to printable characters here. Nothing from outside can open a directive.
 *
 * @module
 */

import type { Context } from "../../model/config.ts";
import type {
  ProxySnapshot,
  RouteSnapshot,
  ServerSnapshot,
  Upstream,
  WeightedEndpoint,
} from "../../model/snapshot.ts";
import { mirrorDirectives, mirrorLocation, mirrorSplits, mirrorUpstreams } from "./mirror.ts";

export interface NginxRenderOptions {
  /** `pid` directive. */
  readonly pidPath: string;
  /** `stats_port`: a loopback-only `stub_status` server. */
  readonly statsPort?: number;
  /** `load_module` line for the stream module, when TCP servers exist and it is dynamic. */
  readonly streamModulePath?: string;
  /**
   * True when nginx runs from a private prefix (`-p`): temp paths are then kept inside it.
   * Otherwise nginx's compiled-in temp paths apply.
   */
  readonly privatePrefix?: boolean;
  /**
   * For `nginx -t` from `aurproxy validate`: log files are opened (created) in this
   * directory instead of where the context says, so a check leaves nothing behind.
   */
  readonly logDir?: string;
}

/**
 * The original's access log format (its template's `combined_forwarded_ip`): combined,
 * plus the forwarded-for chain, host, timings, upstream and time in ms. Log parsers
 * written for the original read it unchanged.
 */
export const ACCESS_LOG_FORMAT = "combined_forwarded_ip";
const ACCESS_LOG_FIELDS = "$remote_addr ($http_x_forwarded_for) - $remote_user [$time_local]  " +
  '"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$host" ' +
  '$request_time $upstream_response_time "$upstream_addr" $msec';

/** Log targets nginx writes without creating a file. */
const NOT_A_FILE = /^(off|stderr|\/dev\/(stdout|stderr)|syslog:.*|memory:.*)$/;

/** `target` (a path, or a path and parameters), moved into `logDir` when it is a file. */
function logTarget(target: string, logDir: string | undefined, name: string): string {
  const [path, ...params] = target.split(/\s+/);
  if (logDir === undefined || NOT_A_FILE.test(path)) return target;
  return [`${logDir}/${name}`, ...params].join(" ");
}

/**
 * The `access_log` directive for the context's `access_log`: by default the original's,
 * every request to stdout in {@linkcode ACCESS_LOG_FORMAT}; `off` (or false) for none; a
 * path for that file in the same format; a path with a format and parameters as given.
 */
function accessLog(c: Context, logDir: string | undefined): string {
  const v = c.access_log;
  if (v === false || v === "off") return "off";
  const target = v === undefined || v === null || v === "" || v === true
    ? "/dev/stdout"
    : String(v);
  const withFormat = /\s/.test(target) ? target : `${target} ${ACCESS_LOG_FORMAT}`;
  return logTarget(withFormat, logDir, "access.log");
}

/** Context value as a string, or the default. */
function ctx(c: Context, key: string, def: string | number): string {
  const v = c[key];
  return v === undefined || v === null || v === "" ? String(def) : String(v);
}

const isTrue = (v: unknown) => v === true || v === "True" || v === "true";

/**
 * A context switch as nginx's `on`/`off`: booleans and "True"/"False" as the original's
 * configs write them; any other string as written, for `nginx -t` to judge.
 */
function onOff(c: Context, key: string, def: boolean): string {
  const v = c[key];
  if (v === undefined || v === null || v === "") return def ? "on" : "off";
  if (isTrue(v)) return "on";
  if (v === false || v === "False" || v === "false") return "off";
  return String(v);
}

/**
 * `listen` lines. With `reuseport` (the default), each worker gets its own listening
 * socket for a port, woken alone: after a reload a new worker takes its share of new
 * connections at once even while the old workers are idle (bench/reload, paced client).
 * nginx accepts socket options only once per port, so only a port's first listen has it.
 * The cost: a reload that changes the number of workers resets the connections waiting
 * in the sockets it closes (`reuseport: false` in context avoids it).
 */
function listenLines(reuseport: boolean) {
  const seen = new Set<string>();
  return (ports: readonly (string | number)[], extra = ""): string =>
    ports.map((p) => {
      const first = reuseport && !seen.has(String(p));
      seen.add(String(p));
      return `        listen ${p}${extra}${first ? " reuseport" : ""};`;
    }).join("\n");
}

type Listen = ReturnType<typeof listenLines>;

/** Printable ASCII only: a comment must end at the end of its line. */
export function commentSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, " ");
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

const live = (u: Upstream) => u.endpoints.some((e) => e.weight > 0);

function serverLine(e: WeightedEndpoint, c: Context): string {
  const audit = commentSafe(e.audit.join(" | "));
  const at = hostPort(e.address, e.port);
  // max_fails defaults to 0: aurproxy's health checks decide membership, and nginx's
  // passive marking would take a whole small pool out on a burst of errors.
  const fails = `max_fails=${ctx(c, "max_fails", 0)} fail_timeout=${ctx(c, "fail_timeout", "10s")}`;
  if (e.weight > 0) return `        server ${at} weight=${e.weight} ${fails}; # ${audit}`;
  // A standby overflow endpoint takes no traffic, but a request that failed on every
  // primary it tried may still be retried on it: primaries that crash all at once cost
  // no request while their health checks catch up.
  if (e.pool === "overflow" && e.share > 0) {
    return `        server ${at} backup ${fails}; # ${audit}`;
  }
  return `        # server ${at} (weight 0) # ${audit}`;
}

function upstreamBlock(u: Upstream, c: Context, keepalive: boolean): string {
  const comment = (text: string) => `        # ${commentSafe(text)}\n`;
  const notes = u.notes.map(comment).join("");
  const skipped = u.skipped.map((e) =>
    comment(`skipped ${hostPort(e.host, e.port)} (${e.pool}, src=${e.source}): ${e.reason}`)
  ).join("");
  return `    upstream ${u.slug} {
${notes}        least_conn;
${u.endpoints.map((e) => serverLine(e, c)).join("\n")}
${skipped}${keepalive ? `        keepalive ${ctx(c, "upstream_keepalive", 64)};\n` : ""}    }
`;
}

function locationBlock(r: RouteSnapshot, location: string): string {
  if (!live(r)) {
    return `        location ${location} {
            # no live endpoints for ${r.slug}
            return ${r.emptyEndpointStatusCode};
        }
`;
  }
  return `        location ${location} {
${mirrorDirectives(r)}            proxy_pass http://${r.slug};
        }
`;
}

/** The original's `overflow_port`: a port that answers 502 to everything. */
function overflowServer(s: ServerSnapshot, listen: Listen): string {
  const port = s.context.overflow_port;
  if (port === undefined || port === null || port === "") return "";
  return `    server {
${listen([String(port)], " default_server")}
        location / {
            return 502;
        }
    }

`;
}

function httpServer(s: ServerSnapshot, listen: Listen): string {
  const c = s.context;
  const def = isTrue(c.default_server) ? " default_server" : "";
  const names = s.hosts.length ? s.hosts.map((h) => (h === "default" ? "_" : h)).join(" ") : "_";
  const blacklist = Array.isArray(c.location_blacklist) ? c.location_blacklist.map(String) : [];
  // A prefix location, as the original's (`/healthcheck/deep` is answered too); the
  // config may ask for an exact one with `= /path`.
  const health = s.healthcheckRoute
    ? `        location ${s.healthcheckRoute} {
            access_log off;
            return 200;
        }
`
    : "";
  const denied = blacklist.map((l) => `        location ${l} {\n            deny all;\n        }\n`)
    .join("");
  const routes = s.routes.flatMap((r) => r.locations.map((l) => locationBlock(r, l))).join("") +
    s.routes.map(mirrorLocation).join("");
  return `${overflowServer(s, listen)}    server {
${listen(s.ports, def)}
        server_name ${names};

        proxy_connect_timeout ${ctx(c, "proxy_connect_timeout", 60)};
        proxy_send_timeout ${ctx(c, "proxy_send_timeout", 60)};
        proxy_read_timeout ${ctx(c, "proxy_read_timeout", 60)};
        send_timeout ${ctx(c, "send_timeout", 60)};
        proxy_buffer_size ${ctx(c, "proxy_buffer_size", "64k")};
        proxy_buffers ${ctx(c, "proxy_buffers", "16 16k")};

        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Connection "";
        # An instance that has just gone away must not cost a request: a request whose
        # backend refuses, resets or does not answer in time is tried on another endpoint
        # (the standby overflow ones last), on at most 3 in all. nginx never retries a
        # non-idempotent request (POST) once it was sent.
        proxy_next_upstream ${ctx(c, "proxy_next_upstream", "error timeout")};
        proxy_next_upstream_tries ${ctx(c, "proxy_next_upstream_tries", 3)};

${health}${denied}${routes}    }
`;
}

const TEMP_PATHS = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
  .map((t) => `    ${t}_temp_path temp/${t};\n`).join("");

function httpBlock(
  snap: ProxySnapshot,
  servers: readonly ServerSnapshot[],
  o: NginxRenderOptions,
): string {
  const c = snap.context;
  const listen = listenLines(onOff(c, "reuseport", true) === "on");
  const upstreams = servers.flatMap((s) =>
    s.routes.filter(live).map((r) => upstreamBlock(r, c, true))
  ).concat(mirrorUpstreams(servers).map((m) => upstreamBlock(m, c, true)));
  const stats = o.statsPort
    ? `    server {
        listen 127.0.0.1:${o.statsPort};
        access_log off;
        location /aurproxy/status {
            stub_status;
            allow 127.0.0.1;
            deny all;
        }
    }

`
    : "";
  return `http {
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    server_tokens off;
    keepalive_timeout ${ctx(c, "keepalive_timeout", 65)};
    keepalive_requests ${ctx(c, "keepalive_requests", 100000)};
    client_max_body_size ${ctx(c, "client_max_body_size", "1m")};
    client_body_timeout ${ctx(c, "client_body_timeout", 10)};
    large_client_header_buffers ${ctx(c, "large_client_header_buffers", "8 32k")};
    gzip ${ctx(c, "gzip", "on")};
    reset_timedout_connection on;
    log_format ${ACCESS_LOG_FORMAT} '${ACCESS_LOG_FIELDS}';
    access_log ${accessLog(c, o.logDir)};
${o.privatePrefix ? TEMP_PATHS : ""}
${upstreams.join("\n")}
${mirrorSplits(servers)}${stats}${servers.map((s) => httpServer(s, listen)).join("\n")}}
`;
}

function streamBlock(servers: readonly ServerSnapshot[], c: Context): string {
  const listen = listenLines(onOff(c, "reuseport", true) === "on");
  const blocks = servers.map((s) => {
    // All streams of one server form one upstream, as in the original.
    const merged: Upstream = {
      slug: s.streams[0]?.slug ?? s.slug,
      endpoints: s.streams.flatMap((st) => st.endpoints),
      skipped: s.streams.flatMap((st) => st.skipped),
      failOpen: s.streams.some((st) => st.failOpen),
      notes: s.streams.flatMap((st) => st.notes),
    };
    if (!live(merged)) {
      // A TCP listener with no upstream server cannot answer anything useful: not listening
      // makes clients fail fast instead of hanging. The port comes back with an endpoint.
      return `    # ${s.slug}: no live endpoints, ports ${s.ports.join(", ")} not listening\n`;
    }
    return `${upstreamBlock(merged, c, false)}
    server {
${listen(s.ports)}
        proxy_connect_timeout ${ctx(s.context, "proxy_connect_timeout", "60s")};
        proxy_timeout ${ctx(s.context, "proxy_timeout", "10m")};
        proxy_next_upstream on;
        proxy_pass ${merged.slug};
    }
`;
  });
  return `stream {
${blocks.join("\n")}}
`;
}

/**
 * Renders nginx.conf.
 *
 * @example
 * ```ts
 * import type { ProxySnapshot } from "../../model/snapshot.ts";
 *
 * // No servers: the process-level part of nginx.conf only.
 * const snapshot: ProxySnapshot = { context: {}, servers: [], builtAt: 0, adjustmentDelayed: false };
 * const text = renderNginx(snapshot, { pidPath: "/var/run/nginx.pid" });
 * console.log(text.includes("pid /var/run/nginx.pid;")); // true
 * ```
 */
export function renderNginx(snap: ProxySnapshot, o: NginxRenderOptions): string {
  const c = snap.context;
  const http = snap.servers.filter((s) => s.routes.length > 0);
  const tcp = snap.servers.filter((s) => s.streams.length > 0);
  const loadModule = tcp.length && o.streamModulePath ? `load_module ${o.streamModulePath};\n` : "";
  const user = c.user ? `user ${ctx(c, "user", "")};\n` : "";
  // Each proxied request holds two descriptors (client and backend).
  const rlimit = `worker_rlimit_nofile ${ctx(c, "worker_rlimit_nofile", 100000)};\n`;
  return `# Generated by aurproxy. Do not edit: it is rewritten on every endpoint change.
${loadModule}${user}worker_processes ${ctx(c, "worker_processes", "auto")};
pid ${o.pidPath};
# In the foreground, as in the original: nginx -c FILE is the process Thermos watches.
daemon ${ctx(c, "daemon", "off")};
error_log ${logTarget(ctx(c, "error_log", "stderr"), o.logDir, "error.log")} ${
    ctx(c, "error_log_level", "warn")
  };
${rlimit}# Old workers finish in-flight requests for at most this long after a reload, so
# frequent reloads cannot pile up workers holding long-lived connections.
worker_shutdown_timeout ${ctx(c, "worker_shutdown_timeout", "30s")};

events {
    worker_connections ${ctx(c, "worker_connections", 2000)};
    # After a reload, old workers keep accepting for nginx's fixed 100 ms: with
    # multi_accept on (the original's) an old worker takes every waiting connection, so
    # new connections reach the new config only once the old workers stop (bench/reload).
    multi_accept ${onOff(c, "multi_accept", false)};
    accept_mutex ${onOff(c, "accept_mutex", false)};
}

${http.length || o.statsPort ? httpBlock(snap, http, o) : ""}${
    tcp.length ? `\n${streamBlock(tcp, c)}` : ""
  }`;
}
