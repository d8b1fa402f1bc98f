/**
 * The data plane without churn: wrk (keep-alive connections) through aurproxy's HAProxy
 * config, a hand-written minimal HAProxy config, a hand-written HAProxy config with the
 * features aurproxy renders (with and without its access log), and aurproxy's nginx
 * config (each of aurproxy's with its default access log to stdout, as the original's,
 * and with `"access_log": "off"`), all proxying to the same `backends` ports, measured in
 * interleaved rounds (one wrk run per target per round) so a load swing of the shared
 * machine hits every target alike. Every access log goes to /dev/null (aurproxy's stdout
 * there, see `stack.ts`; the hand-written HAProxy's stdout, `testing/proxy_child.ts`). The
 * per-round ratios to the hand-written HAProxy are what carry; their median is reported.
 *
 * @module
 */

import { simpleHttpConfig, startHaproxy } from "../../testing/haproxy.ts";
import { freePort } from "../../testing/ports.ts";
import { wrk, type WrkResult } from "../lib.ts";
import { startProxy } from "./stack.ts";

/** The targets, in the order measured each round. */
export const TARGETS = [
  "hand-written HAProxy",
  "hand-written HAProxy, same features",
  "hand-written HAProxy, same features, access_log off",
  "aurproxy HAProxy",
  "aurproxy HAProxy, access_log off",
  "aurproxy nginx",
  "aurproxy nginx, access_log off",
] as const;
/** One of {@linkcode TARGETS}. */
export type Target = typeof TARGETS[number];

/** Per target: one wrk result per round. */
export type DataplaneResult = Record<Target, WrkResult[]>;

/**
 * What one would write by hand to proxy HTTP through HAProxy: HAProxy's defaults (round
 * robin, HTTP keep-alive on both sides, its thread per core), timeouts, one frontend and
 * one backend. The stats socket is there for the readiness check only.
 */
export function handWrittenConfig(statsSocket: string, port: number, backends: readonly number[]) {
  return simpleHttpConfig(statsSocket, {
    port,
    servers: backends.map((p, i) => ({ name: `s${i + 1}`, address: "127.0.0.1", port: p })),
  });
}

/**
 * What an operator would write by hand for the features aurproxy's HAProxy config has on
 * one route: `balance leastconn`, the proxy headers nginx sets (`X-Forwarded-For`,
 * `X-Real-IP`), nginx's retry policy (2 more tries, each on another server, on a failed
 * connect, an empty response or a response timeout; never re-sending a POST, PATCH or
 * LOCK), nginx's 1 MB body limit, `option idle-close-on-response` (no keep-alive request
 * lost at a reload), the same timeouts, and the access log (`httplog` to stdout) unless
 * `log` is false. What aurproxy's config adds over this is its own rendering: the routing
 * rules (404 off the location, the empty-route answer), free server slots, comments.
 */
export function sameFeaturesConfig(
  statsSocket: string,
  port: number,
  backends: readonly number[],
  log: boolean,
) {
  return `global
    stats socket ${statsSocket} mode 600 level admin expose-fd listeners
${log ? "    log stdout format raw local0 info\n" : ""}defaults
    mode http
${log ? "    log global\n    option httplog\n" : ""}    timeout connect 60s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 65s
    timeout http-request 10s
    option redispatch 1
    retries 2
    retry-on conn-failure empty-response response-timeout
frontend f
    bind :${port}
    option idle-close-on-response
    http-request deny deny_status 413 if { req.hdr_val(content-length) gt 1048576 }
    default_backend b
backend b
    balance leastconn
    option forwardfor
    http-request set-header X-Real-IP %[src]
    http-request disable-l7-retry if { method POST PATCH LOCK }
${backends.map((p, i) => `    server s${i + 1} 127.0.0.1:${p}`).join("\n")}
`;
}

/** Starts every target on `backends` and measures them in interleaved rounds. */
export async function dataplane(
  backends: readonly number[],
  o: { seconds: number; rounds: number; connections: number },
): Promise<DataplaneResult> {
  const sources = backends.map((port, i) => ({
    source_class: "static",
    name: `b${i}`,
    host: "127.0.0.1",
    port,
  }));
  const handPort = freePort();
  const hand = await startHaproxy((p) => handWrittenConfig(p.statsSocket, handPort, backends), [
    handPort,
  ]);
  const featuresPort = freePort();
  const features = await startHaproxy(
    (p) => sameFeaturesConfig(p.statsSocket, featuresPort, backends, true),
    [featuresPort],
  );
  const featuresOffPort = freePort();
  const featuresOff = await startHaproxy(
    (p) => sameFeaturesConfig(p.statsSocket, featuresOffPort, backends, false),
    [featuresOffPort],
  );
  const off = { context: { access_log: "off" } };
  const stacks = [
    await startProxy("haproxy", sources),
    await startProxy("haproxy", sources, off),
    await startProxy("nginx", sources),
    await startProxy("nginx", sources, off),
  ];
  const ports = Object.fromEntries(
    TARGETS.map((t, i) => [t, [handPort, featuresPort, featuresOffPort][i] ?? stacks[i - 3].port]),
  ) as Record<Target, number>;
  const out = Object.fromEntries(TARGETS.map((t) => [t, [] as WrkResult[]])) as DataplaneResult;
  try {
    for (const t of TARGETS) await wrk(`http://127.0.0.1:${ports[t]}/`, { seconds: 1 }); // warm-up
    for (let r = 0; r < o.rounds; r++) {
      for (const t of TARGETS) {
        const res = await wrk(`http://127.0.0.1:${ports[t]}/`, {
          seconds: o.seconds,
          connections: o.connections,
        });
        out[t].push({ ...res, raw: res.raw.trim() });
        console.error(`  round ${r + 1}/${o.rounds} ${t}: ${res.rps.toFixed(0)} req/s`);
      }
    }
    return out;
  } finally {
    await hand.stop();
    await features.stop();
    await featuresOff.stop();
    for (const s of stacks) await s.stop();
  }
}
