/**
 * One connection of the management server: reads request heads and bodies under
 * deadlines, hands each request to the handler, writes the answer, and keeps the
 * connection alive between requests. Every wait has a deadline that closes the
 * connection (the pending read or write then fails), so no client can hold it for
 * longer than the limits say, whatever it sends or does not send.
 *
 * @module
 */

import type { Clock, TimerId } from "../clock.ts";
import { errorResponse, headEnd, parseHead, type RequestHead, serializeResponse } from "./http1.ts";

/** The limits of the management server (see `DEFAULT_LIMITS` in `http_server.ts`). */
export interface HttpLimits {
  /** From accept, or a keep-alive request's first byte, until its head is complete. */
  readonly headersTimeoutMs: number;
  /** For a request's body once its head is in. */
  readonly bodyTimeoutMs: number;
  /** A kept-alive connection waiting for its next request. */
  readonly idleTimeoutMs: number;
  /** For the handler and writing its answer (a client that never reads). */
  readonly writeTimeoutMs: number;
  /** Connections open at once; at the cap the longest-waiting one is closed. */
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  readonly maxBodyBytes: number;
  readonly maxRequestsPerConnection: number;
}

/** Answers one request from `peer` (the connecting IP address). */
export type HttpHandler = (req: Request, peer: string) => Promise<Response>;

/**
 * What a connection is doing. `handling` (the handler runs) is never cut short at the
 * cap; every other phase is the client's to hurry, so its connection may be.
 */
export type Phase = "waiting" | "body" | "handling" | "writing";

/** What the server counts about its connections. */
export interface ConnectionEvents {
  timedOut(): void;
  badRequest(status: number): void;
  handlerFailed(req: Request, err: unknown): void;
}

/** A connection and its one deadline. */
export class Slot {
  readonly conn: Deno.Conn;
  readonly #clock: Clock;
  #phase: Phase = "waiting";
  #since: number;
  #timer?: TimerId;
  #timedOut = false;
  #closed = false;

  constructor(conn: Deno.Conn, clock: Clock) {
    this.conn = conn;
    this.#clock = clock;
    this.#since = clock.now();
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** When the current phase began. */
  get since(): number {
    return this.#since;
  }

  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** Enters `phase`; the connection is closed unless the next `enter` comes within `ms`. */
  enter(phase: Phase, ms: number): void {
    if (phase !== this.#phase) this.#since = this.#clock.now();
    this.#phase = phase;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timedOut = true;
      this.close();
    }, ms);
  }

  close(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closed by the peer already.
    }
  }
}

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/** The request handed to the handler, or undefined when the URL cannot be built. */
function toRequest(
  head: RequestHead,
  body: Uint8Array<ArrayBuffer> | undefined,
): Request | undefined {
  try {
    // Host and path concatenated, not resolved against each other: a path `//x/y` stays
    // a path instead of naming host x.
    const url = new URL(`http://${head.host || "localhost"}${head.path}`);
    const hasBody = head.method !== "GET" && head.method !== "HEAD";
    return new Request(url, {
      method: head.method,
      headers: new Headers(head.headers as [string, string][]),
      body: hasBody ? body : undefined,
    });
  } catch {
    // A Host the syntax check let through that is no host (`[1:2:3]`), or a method
    // Request refuses (`CONNECT`).
    return undefined;
  }
}

/**
 * Serves requests on `slot` until the client closes, asks to, misbehaves, or a deadline
 * passes; `closing()` true ends keep-alive. Rejects when the connection is cut.
 */
export async function serveConnection(
  slot: Slot,
  handler: HttpHandler,
  limits: HttpLimits,
  events: ConnectionEvents,
  closing: () => boolean,
): Promise<void> {
  const conn = slot.conn;
  const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
  const chunk = new Uint8Array(16 * 1024);
  let buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  const readMore = async (): Promise<boolean> => {
    const n = await conn.read(chunk);
    if (n === null) return false;
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    return true;
  };
  const write = async (bytes: Uint8Array, phase: Phase = "writing") => {
    slot.enter(phase, limits.writeTimeoutMs);
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
  };
  const refuse = async (status: number, reason: string) => {
    events.badRequest(status);
    await write(errorResponse(status, reason));
  };
  for (let served = 0; served < limits.maxRequestsPerConnection; served++) {
    if (served > 0 && buf.length === 0) {
      slot.enter("waiting", limits.idleTimeoutMs);
      if (!await readMore()) return;
    }
    slot.enter("waiting", limits.headersTimeoutMs);
    let end: number;
    for (;;) {
      // Blank lines before a request line are allowed (RFC 9112 2.2).
      let skip = 0;
      while (skip + 1 < buf.length && buf[skip] === 13 && buf[skip + 1] === 10) skip += 2;
      if (skip) buf = buf.subarray(skip);
      end = headEnd(buf);
      if (end !== -1) break;
      if (buf.length > limits.maxHeaderBytes) return await refuse(431, "request head too large");
      if (!await readMore()) return;
    }
    if (end === -2) return await refuse(400, "a line of the request head ends in a bare LF");
    if (end > limits.maxHeaderBytes) return await refuse(431, "request head too large");
    const head = parseHead(buf.subarray(0, end), limits.maxBodyBytes);
    buf = buf.subarray(end + 4);
    if ("status" in head) return await refuse(head.status, head.reason);
    if (head.expectContinue && buf.length < head.contentLength) await write(CONTINUE, "body");
    slot.enter("body", limits.bodyTimeoutMs);
    while (buf.length < head.contentLength) if (!await readMore()) return;
    const body = head.contentLength ? buf.slice(0, head.contentLength) : undefined;
    buf = buf.subarray(head.contentLength);
    const req = toRequest(head, body);
    if (!req) return await refuse(400, "malformed request");
    // The deadline also bounds the handler: a stuck one cannot hold the connection.
    slot.enter("handling", limits.writeTimeoutMs);
    let res: Response;
    let bytes: Uint8Array;
    try {
      res = await handler(req, peer);
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (err) {
      events.handlerFailed(req, err);
      return await write(errorResponse(500, "internal error"));
    }
    const keepAlive = head.keepAlive && !closing() && served + 1 < limits.maxRequestsPerConnection;
    await write(
      serializeResponse(res.status, res.headers, bytes, {
        head: head.method === "HEAD",
        keepAlive,
      }),
    );
    if (!keepAlive) return;
  }
}
