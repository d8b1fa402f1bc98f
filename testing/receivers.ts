/**
 * Local stand-ins for the services metrics and errors go to, each speaking its real wire
 * format and strict about it: Librato's metrics API (basic auth, JSON of gauges and
 * counters), OpenTSDB's telnet-style `put` port, a StatsD UDP socket, and Sentry's envelope
 * endpoint. Each can be told to fail (HTTP 500) or to hang (accept and never answer).
 *
 * @module
 */

import dgram from "node:dgram";
import { freePort } from "./ports.ts";

/** How a receiver answers. */
export type ReceiverMode = "ok" | "fail" | "hang";

/** One Librato measurement as received. */
export interface LibratoMeasurement {
  name: string;
  value: number;
  type: string;
  source: string;
  period: number;
  attributes: { aggregate: boolean };
}

export interface LibratoReceiver {
  readonly url: string;
  /** Every accepted POST body, in order. */
  readonly posts: { gauges: LibratoMeasurement[]; counters: LibratoMeasurement[] }[];
  /** Requests refused (bad auth, bad JSON, wrong shape), with why. */
  readonly rejected: string[];
  /** User agents seen. */
  readonly userAgents: string[];
  /** Requests received, whatever the mode. */
  requests: number;
  mode: ReceiverMode;
  close(): Promise<void>;
}

function checkMeasurement(m: unknown, type: string): string | undefined {
  const x = m as Record<string, unknown>;
  if (typeof x?.name !== "string" || !/^[A-Za-z0-9.:_-]{1,255}$/.test(x.name)) return "bad name";
  if (typeof x.value !== "number") return `bad value for ${x.name}`;
  if (x.type !== type) return `${x.name}: type ${x.type} in ${type}s`;
  if (typeof x.source !== "string" || typeof x.period !== "number") return "no source/period";
  const attrs = x.attributes as Record<string, unknown> | undefined;
  if (attrs?.aggregate !== true) return "no server-side aggregation";
  return undefined;
}

/**
 * Librato's `POST /v1/metrics` for one user and token.
 *
 * @example
 * ```ts
 * const librato = startLibratoReceiver("ops@example.com", "t0ken");
 * // --metric-publisher-arg=api_url=${librato.url}
 * await librato.close();
 * ```
 */
export function startLibratoReceiver(user: string, token: string): LibratoReceiver {
  const port = freePort();
  const ac = new AbortController();
  const hung: (() => void)[] = [];
  const expected = `Basic ${btoa(`${user}:${token}`)}`;
  const r: LibratoReceiver = {
    url: `http://127.0.0.1:${port}/v1/metrics`,
    posts: [],
    rejected: [],
    userAgents: [],
    requests: 0,
    mode: "ok",
    close: async () => {
      for (const h of hung.splice(0)) h();
      ac.abort();
      await server.finished;
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    async (req) => {
      r.requests++;
      if (r.mode === "hang") {
        await new Promise<void>((resolve) => hung.push(resolve));
        return new Response("late", { status: 503 });
      }
      const reject = (why: string, status: number) => {
        r.rejected.push(why);
        return new Response(JSON.stringify({ errors: { request: [why] } }), { status });
      };
      if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/metrics") {
        return reject(`${req.method} ${req.url}`, 404);
      }
      if (req.headers.get("authorization") !== expected) return reject("authorization", 401);
      if (!req.headers.get("content-type")?.startsWith("application/json")) {
        return reject("content-type", 415);
      }
      r.userAgents.push(req.headers.get("user-agent") ?? "");
      let body: { gauges?: unknown[]; counters?: unknown[] };
      try {
        body = await req.json();
      } catch {
        return reject("not JSON", 400);
      }
      const gauges = body.gauges ?? [];
      const counters = body.counters ?? [];
      if (!Array.isArray(gauges) || !Array.isArray(counters)) return reject("shape", 400);
      if (gauges.length + counters.length > 300) return reject("over 300 measurements", 400);
      const why = [
        ...gauges.map((g) => checkMeasurement(g, "gauge")),
        ...counters.map((c) => checkMeasurement(c, "counter")),
      ]
        .find(Boolean);
      if (why) return reject(why, 400);
      if (r.mode === "fail") return reject("injected failure", 500);
      r.posts.push({
        gauges: gauges as LibratoMeasurement[],
        counters: counters as LibratoMeasurement[],
      });
      return new Response(null, { status: 200 });
    },
  );
  return r;
}

/** One parsed `put` line. */
export interface TsdbPut {
  metric: string;
  timestamp: number;
  value: number;
  tags: Record<string, string>;
}

export interface OpenTsdbReceiver {
  readonly port: number;
  /** The `put`s of each connection, in order. */
  readonly connections: TsdbPut[][];
  /** Lines that were not valid `put`s. */
  readonly bad: string[];
  close(): void;
}

const PUT = /^put (\S+) (\d{10}) (-?\d+\.\d{6}) ((?:\S+=\S+ ?)+)$/;

/**
 * OpenTSDB's telnet-style port: reads each connection to its end and parses the lines.
 *
 * @example
 * ```ts
 * const tsdb = startOpenTsdbReceiver();
 * // --metric-publisher-arg=port=${tsdb.port}
 * tsdb.close();
 * ```
 */
export function startOpenTsdbReceiver(): OpenTsdbReceiver {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const r: OpenTsdbReceiver = {
    port: (listener.addr as Deno.NetAddr).port,
    connections: [],
    bad: [],
    close: () => listener.close(),
  };
  (async () => {
    for await (const conn of listener) {
      (async () => {
        let text = "";
        const dec = new TextDecoder();
        for await (const chunk of conn.readable) text += dec.decode(chunk, { stream: true });
        const puts: TsdbPut[] = [];
        for (const line of text.split("\n").filter(Boolean)) {
          const m = PUT.exec(line);
          if (!m) {
            r.bad.push(line);
            continue;
          }
          const tags = Object.fromEntries(
            m[4].trim().split(" ").map((t) => t.split("=") as [string, string]),
          );
          puts.push({ metric: m[1], timestamp: Number(m[2]), value: Number(m[3]), tags });
        }
        r.connections.push(puts);
      })().catch(() => {});
    }
  })().catch(() => {});
  return r;
}

/** One StatsD line. */
export interface StatsdLine {
  name: string;
  value: number;
  type: string;
  tags: string[];
}

export interface StatsdReceiver {
  readonly port: number;
  readonly datagrams: string[];
  readonly lines: StatsdLine[];
  readonly bad: string[];
  close(): Promise<void>;
}

const STATSD = /^([^:|#\s]+):(-?[0-9.e+-]+)\|(c|g|ms|h|s|d)(?:\|@[0-9.]+)?(?:\|#(\S+))?$/;

/**
 * A StatsD (and DogStatsD) UDP socket.
 *
 * @example
 * ```ts
 * const statsd = await startStatsdReceiver();
 * // --metric-publisher-arg=port=${statsd.port}
 * await statsd.close();
 * ```
 */
export async function startStatsdReceiver(): Promise<StatsdReceiver> {
  const socket = dgram.createSocket("udp4");
  const r: StatsdReceiver = {
    port: 0,
    datagrams: [],
    lines: [],
    bad: [],
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on("message", (msg: Uint8Array) => {
    const text = new TextDecoder().decode(msg);
    r.datagrams.push(text);
    for (const line of text.split("\n")) {
      const m = STATSD.exec(line);
      if (!m) r.bad.push(line);
      else {r.lines.push({
          name: m[1],
          value: Number(m[2]),
          type: m[3],
          tags: m[4]?.split(",") ?? [],
        });}
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  (r as { port: number }).port = socket.address().port;
  return r;
}

/** One item of a Sentry envelope. */
export interface EnvelopeItem {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
}

export interface SentryReceiver {
  /** A DSN pointing here (project 42). */
  readonly dsn: string;
  /** Envelopes as parsed: header and items. */
  readonly envelopes: { header: Record<string, unknown>; items: EnvelopeItem[] }[];
  /** `event` items' payloads. */
  events(): Record<string, unknown>[];
  readonly bad: string[];
  /** Requests received, whatever the mode. */
  requests: number;
  mode: ReceiverMode;
  close(): Promise<void>;
}

/** Splits an envelope: header line, then items (an item header, then its payload). */
export function parseEnvelope(
  body: Uint8Array,
): { header: Record<string, unknown>; items: EnvelopeItem[] } {
  const dec = new TextDecoder();
  let pos = 0;
  const line = () => {
    let end = body.indexOf(10, pos);
    if (end < 0) end = body.length;
    const s = dec.decode(body.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const header = JSON.parse(line());
  const items: EnvelopeItem[] = [];
  while (pos < body.length) {
    const h = line();
    if (!h) continue;
    const itemHeader = JSON.parse(h);
    let payload: string;
    if (typeof itemHeader.length === "number") {
      payload = dec.decode(body.subarray(pos, pos + itemHeader.length));
      pos += itemHeader.length + 1;
    } else {
      payload = line();
    }
    items.push({ header: itemHeader, payload: JSON.parse(payload) });
  }
  return { header, items };
}

/**
 * Sentry's `POST /api/<project>/envelope/`, checking the key the SDK authenticates with.
 *
 * @example
 * ```ts
 * const sentry = startSentryReceiver();
 * // --sentry-dsn=${sentry.dsn}
 * await sentry.close();
 * ```
 */
export function startSentryReceiver(): SentryReceiver {
  const port = freePort();
  const ac = new AbortController();
  const hung: (() => void)[] = [];
  const r: SentryReceiver = {
    dsn: `http://publickey@127.0.0.1:${port}/42`,
    envelopes: [],
    bad: [],
    requests: 0,
    mode: "ok",
    events: () =>
      r.envelopes.flatMap((e) =>
        e.items.filter((i) => i.header.type === "event").map((i) => i.payload)
      ),
    close: async () => {
      for (const h of hung.splice(0)) h();
      ac.abort();
      await server.finished;
    },
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    async (req) => {
      r.requests++;
      if (r.mode === "hang") {
        await new Promise<void>((resolve) => hung.push(resolve));
        return new Response(null, { status: 503 });
      }
      const url = new URL(req.url);
      const auth = req.headers.get("x-sentry-auth") ?? url.searchParams.get("sentry_key") ?? "";
      if (
        req.method !== "POST" || url.pathname !== "/api/42/envelope/" || !auth.includes("publickey")
      ) {
        r.bad.push(`${req.method} ${url.pathname}${url.search}`);
        return new Response("no", { status: 400 });
      }
      const body = new Uint8Array(await req.arrayBuffer());
      try {
        r.envelopes.push(parseEnvelope(body));
      } catch (err) {
        r.bad.push(`unparsable envelope: ${err}`);
        return new Response("bad envelope", { status: 400 });
      }
      if (r.mode === "fail") return new Response("injected", { status: 500 });
      return new Response(JSON.stringify({ id: crypto.randomUUID().replaceAll("-", "") }), {
        headers: { "content-type": "application/json" },
      });
    },
  );
  return r;
}
