import { strictEqual } from "node:assert";
import { renderNginx } from "../../lib/backends/nginx/render.ts";
import { computeWeights } from "../../lib/balance/weights.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { snapshot } from "../../testing/snapshots.ts";

const opts = { pidPath: "/run/nginx.pid" };
const has = (text: string, part: string) =>
  strictEqual(text.includes(part), true, `missing ${JSON.stringify(part)} in:\n${text}`);
const hasNot = (text: string, part: string) =>
  strictEqual(text.includes(part), false, `unexpected ${JSON.stringify(part)} in:\n${text}`);

Deno.test("nginx template: upstream with least_conn, weights, audit comment and keepalive", () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      routes: [{ locations: ["/"], ports: [9001, 9002], shares: [1, 0.5] }],
    }]),
    opts,
  );
  has(t, "least_conn;");
  has(
    t,
    "server 127.0.0.1:9001 weight=1000 max_fails=0 fail_timeout=10s; # primary | src=test | base=1 | test=1 (set by test) | share=1 | share 1/1.5 of primary portion 1 | fraction=0.6667 | weight=1000 (max fraction 0.6667 = 1000)",
  );
  has(t, "server 127.0.0.1:9002 weight=500 max_fails=0 fail_timeout=10s;");
  has(t, "keepalive 64;");
  has(t, "proxy_pass http://");
  has(t, "pid /run/nginx.pid;");
  has(t, "worker_shutdown_timeout 30s;");
});

Deno.test("nginx template: a zero-weight endpoint is a comment, not a live server", () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      routes: [{ locations: ["/"], ports: [9001, 9002], shares: [1, 0] }],
    }]),
    opts,
  );
  has(t, "# server 127.0.0.1:9002 (weight 0) #");
  hasNot(t, "server 127.0.0.1:9002 weight=");
});

Deno.test("nginx template: standby overflow endpoints are backup servers, unhealthy ones comments", () => {
  const snap = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }]);
  const member = (port: number, share: number) => ({
    endpoint: { host: "127.0.0.1", port, ports: {} },
    source: "test",
    factors: [{ name: "health", share, detail: share ? "healthy" : "unhealthy" }],
  });
  const w = computeWeights({
    primary: [member(9001, 1)],
    overflow: [member(9002, 1), member(9003, 0)],
    adjust: true,
  });
  const route = { ...snap.servers[0].routes[0], endpoints: w.endpoints };
  const t = renderNginx({ ...snap, servers: [{ ...snap.servers[0], routes: [route] }] }, opts);
  has(t, "server 127.0.0.1:9001 weight=1000 max_fails=0 fail_timeout=10s;");
  has(t, "server 127.0.0.1:9002 backup max_fails=0 fail_timeout=10s; # overflow");
  has(t, "# server 127.0.0.1:9003 (weight 0) # overflow");
});

Deno.test("nginx template: no live endpoint -> the location returns the configured code, no upstream", () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      routes: [{ locations: ["/x"], ports: [], emptyEndpointStatusCode: 599 }],
    }]),
    opts,
  );
  has(t, "return 599;");
  hasNot(t, "    upstream ");
});

Deno.test("nginx template: listen, default_server, server_name, healthcheck, blacklist, timeouts", () => {
  const t = renderNginx(
    snapshot([{
      hosts: ["default", "www.example.com"],
      ports: [80, 8080],
      healthcheckRoute: "/hc",
      context: {
        default_server: "True",
        location_blacklist: ["/health", "/quitquitquit"],
        proxy_read_timeout: 5,
      },
      routes: [{ locations: ["/"], ports: [9001] }],
    }]),
    opts,
  );
  has(t, "listen 80 default_server reuseport;");
  has(t, "listen 8080 default_server reuseport;");
  has(t, "server_name _ www.example.com;");
  // A prefix location, as the original's (issue 8, B5).
  has(t, "location /hc {\n            access_log off;\n            return 200;");
  has(t, "location /health {\n            deny all;");
  has(t, "location /quitquitquit {\n            deny all;");
  has(t, "proxy_read_timeout 5;");
  has(t, "proxy_connect_timeout 60;");
});

Deno.test("nginx template: context knobs at the top level", () => {
  const t = renderNginx(
    snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }], {
      worker_processes: 4,
      worker_connections: 4096,
      worker_rlimit_nofile: 100000,
      keepalive_timeout: 30,
      client_max_body_size: "10m",
    }),
    opts,
  );
  has(t, "worker_processes 4;");
  has(t, "worker_connections 4096;");
  has(t, "worker_rlimit_nofile 100000;");
  has(t, "keepalive_timeout 30;");
  has(t, "client_max_body_size 10m;");
});

Deno.test("nginx template: defaults of the original for limits, buffers and retries", () => {
  const t = renderNginx(
    snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }]),
    opts,
  );
  has(t, "worker_rlimit_nofile 100000;");
  has(t, "worker_connections 2000;");
  has(t, "keepalive_requests 100000;");
  has(t, "client_body_timeout 10;");
  has(t, "large_client_header_buffers 8 32k;");
  has(t, "gzip on;");
  has(t, "proxy_buffer_size 64k;");
  has(t, "proxy_buffers 16 16k;");
  has(t, "proxy_send_timeout 60;");
  has(t, "send_timeout 60;");
  has(t, "proxy_next_upstream error timeout;");
  has(t, "proxy_next_upstream_tries 3;");
  // The original's access log: every request to stdout in its own format (issue 8, B8).
  has(t, "access_log /dev/stdout combined_forwarded_ip;");
  has(t, "error_log stderr warn;");
  hasNot(t, "\nuser ");
});

Deno.test("nginx template: every knob can be overridden from context", () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      context: {
        proxy_send_timeout: 7,
        send_timeout: 8,
        proxy_buffer_size: "8k",
        proxy_buffers: "8 8k",
        proxy_next_upstream: "error",
        proxy_next_upstream_tries: 1,
      },
      routes: [{ locations: ["/"], ports: [9001] }],
    }], {
      user: "www-data",
      keepalive_requests: 1000,
      access_log: "/var/log/nginx/access.log",
      error_log: "/var/log/nginx/error.log",
      error_log_level: "info",
      upstream_keepalive: 512,
      max_fails: 3,
      fail_timeout: "5s",
      gzip: "off",
      client_body_timeout: 30,
      large_client_header_buffers: "4 8k",
      worker_rlimit_nofile: 4096,
    }),
    opts,
  );
  for (
    const line of [
      "user www-data;",
      "keepalive_requests 1000;",
      "access_log /var/log/nginx/access.log combined_forwarded_ip;",
      "error_log /var/log/nginx/error.log info;",
      "keepalive 512;",
      "server 127.0.0.1:9001 weight=1000 max_fails=3 fail_timeout=5s;",
      "gzip off;",
      "client_body_timeout 30;",
      "large_client_header_buffers 4 8k;",
      "worker_rlimit_nofile 4096;",
      "proxy_send_timeout 7;",
      "send_timeout 8;",
      "proxy_buffer_size 8k;",
      "proxy_buffers 8 8k;",
      "proxy_next_upstream error;",
      "proxy_next_upstream_tries 1;",
    ]
  ) has(t, line);
});

Deno.test("nginx template: overflow_port answers 502 to everything, as in the original", () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      context: { overflow_port: 8081 },
      routes: [{ locations: ["/"], ports: [9001] }],
    }]),
    opts,
  );
  has(t, "listen 8081 default_server reuseport;\n        location / {\n            return 502;");
});

Deno.test("nginx template: endpoints whose host name did not resolve are listed, not served", () => {
  const snap = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }]);
  const route = snap.servers[0].routes[0];
  const t = renderNginx({
    ...snap,
    servers: [{
      ...snap.servers[0],
      routes: [{
        ...route,
        endpoints: [{ ...route.endpoints[0], host: "agent1.example.com", address: "10.1.2.3" }],
        skipped: [{
          host: "gone.example.com",
          port: 31000,
          pool: "primary",
          source: "aurora:r/e/j",
          reason: "cannot resolve: ENOTFOUND",
        }],
      }],
    }],
  }, opts);
  has(t, "server 10.1.2.3:9001 weight=1000");
  hasNot(t, "server agent1.example.com");
  has(
    t,
    "# skipped gone.example.com:31000 (primary, src=aurora:r/e/j): cannot resolve: ENOTFOUND",
  );
  hasNot(t, "server gone.example.com");
});

Deno.test("nginx template: stream block, load_module only when TCP servers exist", () => {
  const tcp = renderNginx(snapshot([{ ports: [6379], stream: [7001, 7002] }]), {
    ...opts,
    streamModulePath: "/usr/lib/nginx/modules/ngx_stream_module.so",
  });
  has(tcp, "load_module /usr/lib/nginx/modules/ngx_stream_module.so;");
  has(tcp, "stream {");
  has(tcp, "listen 6379 reuseport;");
  has(tcp, "server 127.0.0.1:7001 weight=1000");
  hasNot(tcp, "http {");
  const http = renderNginx(
    snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [1] }] }]),
    {
      ...opts,
      streamModulePath: "/x.so",
    },
  );
  hasNot(http, "load_module");
  hasNot(http, "stream {");
});

Deno.test("nginx template: stream timeouts from the server's context", () => {
  const t = renderNginx(
    snapshot([{
      ports: [6379],
      context: { proxy_connect_timeout: "2s", proxy_timeout: "1h" },
      stream: [7001],
    }]),
    opts,
  );
  has(t, "proxy_connect_timeout 2s;\n        proxy_timeout 1h;");
});

Deno.test("nginx template: stats_port is served with TCP-only configs too", () => {
  const t = renderNginx(snapshot([{ ports: [6379], stream: [7001] }]), {
    ...opts,
    statsPort: 8090,
  });
  has(t, "http {");
  has(t, "listen 127.0.0.1:8090;");
  has(t, "stream {");
});

Deno.test("nginx template: a stream with no live endpoint does not listen", () => {
  const t = renderNginx(snapshot([{ ports: [6379], stream: [] }]), opts);
  hasNot(t, "listen 6379");
  has(t, "not listening");
});

Deno.test("nginx template: stats_port serves stub_status to loopback only", () => {
  const t = renderNginx(snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [1] }] }]), {
    ...opts,
    statsPort: 8090,
  });
  has(t, "listen 127.0.0.1:8090;");
  has(t, "stub_status;");
  has(t, "allow 127.0.0.1;\n            deny all;");
});

Deno.test("nginx template: IPv6 endpoints are bracketed; audit comments cannot break lines", () => {
  const snap = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }]);
  const route = snap.servers[0].routes[0];
  const hostile: ProxySnapshot = {
    ...snap,
    servers: [{
      ...snap.servers[0],
      routes: [{
        ...route,
        endpoints: [{
          ...route.endpoints[0],
          host: "::1",
          address: "::1",
          audit: ["x\n} server { listen 81; #"],
        }],
      }],
    }],
  };
  const t = renderNginx(hostile, opts);
  has(t, "server [::1]:9001 weight=1000 max_fails=0 fail_timeout=10s; # x } server { listen 81; #");
  hasNot(t, "\n} server { listen 81");
});

Deno.test("nginx template: same snapshot, same text (an unchanged render never reloads)", () => {
  const snap = snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001, 9002] }] }]);
  strictEqual(renderNginx(snap, opts), renderNginx({ ...snap, builtAt: 12345 }, opts));
});

Deno.test("nginx template: the original's access log by default; off, elsewhere, or as given", () => {
  const render = (context: Record<string, unknown>, o = opts) =>
    renderNginx(
      snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }], context),
      o,
    );
  const t = render({});
  has(
    t,
    `    log_format combined_forwarded_ip '$remote_addr ($http_x_forwarded_for) - $remote_user ` +
      `[$time_local]  "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ` +
      `"$host" $request_time $upstream_response_time "$upstream_addr" $msec';\n` +
      "    access_log /dev/stdout combined_forwarded_ip;\n",
  );
  has(render({ access_log: "off" }), "access_log off;");
  has(render({ access_log: false }), "access_log off;");
  has(render({ access_log: "/var/log/a.log" }), "access_log /var/log/a.log combined_forwarded_ip;");
  has(
    render({ access_log: "/var/log/a.log main buffer=32k" }),
    "access_log /var/log/a.log main buffer=32k;",
  );
  has(
    render({ access_log: "syslog:server=10.0.0.1" }),
    "access_log syslog:server=10.0.0.1 combined_forwarded_ip;",
  );
  // A check's render keeps every log file in its own directory.
  const check = { ...opts, logDir: "/tmp/check" };
  has(render({}, check), "access_log /dev/stdout combined_forwarded_ip;");
  has(
    render({ access_log: "/var/log/a.log buffer=32k" }, check),
    "access_log /tmp/check/access.log buffer=32k;",
  );
  has(render({ error_log: "/var/log/e.log" }, check), "error_log /tmp/check/error.log warn;");
  has(render({ error_log: "stderr" }, check), "error_log stderr warn;");
});

Deno.test('nginx template: healthcheck_route "= /path" renders an exact location', () => {
  const t = renderNginx(
    snapshot([{
      ports: [80],
      healthcheckRoute: "= /hc",
      routes: [{ locations: ["/"], ports: [9001] }],
    }]),
    opts,
  );
  has(t, "location = /hc {\n            access_log off;\n            return 200;");
});

Deno.test("nginx template: new workers accept at once after a reload: multi_accept and accept_mutex off unless context turns them on", () => {
  const snap = (context = {}) =>
    renderNginx(
      snapshot([{ ports: [80], routes: [{ locations: ["/"], ports: [9001] }] }], context),
      opts,
    );
  const t = snap();
  has(t, "multi_accept off;");
  has(t, "accept_mutex off;");
  has(t, "listen 80 reuseport;");
  // The original's listen, without a socket per worker.
  has(snap({ reuseport: false }), "listen 80;");
  hasNot(snap({ reuseport: "False" }), "reuseport");
  // The original's setting, as its configs may write it.
  for (const on of ["on", true, "True", "true"]) {
    has(snap({ multi_accept: on }), "multi_accept on;");
    has(snap({ accept_mutex: on }), "accept_mutex on;");
  }
  has(snap({ multi_accept: "False" }), "multi_accept off;");
});

Deno.test("nginx template: reuseport once per port (nginx rejects it twice)", () => {
  const t = renderNginx(
    snapshot([
      {
        hosts: ["a.example.com"],
        ports: [80, 8080],
        context: { overflow_port: 8081 },
        routes: [{ locations: ["/"], ports: [9001] }],
      },
      { hosts: ["b.example.com"], ports: [80], routes: [{ locations: ["/"], ports: [9002] }] },
      { ports: [6379], stream: [7001] },
    ]),
    opts,
  );
  strictEqual(t.match(/listen 80 reuseport;/g)?.length, 1, t);
  has(t, "listen 8080 reuseport;");
  has(t, "listen 8081 default_server reuseport;");
  strictEqual(t.match(/listen 80;/g)?.length, 1, t);
  has(t, "listen 6379 reuseport;");
});
