/**
 * The data plane without churn: wrk (keep-alive connections) through aurproxy's HAProxy
 * config, a hand-written minimal HAProxy config, and aurproxy's nginx config (each of
 * aurproxy's with its default access log to stdout, as the original's, and with
 * `"access_log": "off"`: the hand-written one logs nothing), all
 * proxying to the same `backends` ports, measured in interleaved rounds (one wrk run per
 * target per round) so a load swing of the shared machine hits every target alike. The
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
  const off = { context: { access_log: "off" } };
  const stacks = [
    await startProxy("haproxy", sources),
    await startProxy("haproxy", sources, off),
    await startProxy("nginx", sources),
    await startProxy("nginx", sources, off),
  ];
  const ports = Object.fromEntries(
    TARGETS.map((t, i) => [t, i === 0 ? handPort : stacks[i - 1].port]),
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
    for (const s of stacks) await s.stop();
  }
}
