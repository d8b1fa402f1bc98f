/**
 * The EC2 instance metadata service, for this instance's id (ELB, ELBv2) and public host
 * name (Route 53). IMDSv2 first (a session token from `PUT /latest/api/token`, sent with
 * every read), falling back to IMDSv1 (plain reads) when the token request is refused with
 * 403, 404 or 405 or gets no answer, as the AWS SDKs do.
 *
 * The endpoint follows the SDKs' settings: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` (`IPv6`: `http://[fd00:ec2::254]`), else
 * `http://169.254.169.254`. `AWS_EC2_METADATA_V1_DISABLED=true` forbids the fallback;
 * `AWS_EC2_METADATA_DISABLED=true` refuses every read.
 *
 * Requests go straight to the service, never through `HTTP_PROXY` (as the original, which
 * turned proxies off for it): `node:http` here, because `fetch` honours proxy variables.
 *
 * What the service answers is not trusted blindly (a metadata proxy, a captive portal or
 * a broken agent can answer anything): each request must be complete within the timeout
 * (a body that trickles in forever is cut off) and at most 64 KiB, and a token must be
 * printable ASCII. {@linkcode instanceIdOf} and {@linkcode publicHostnameOf} check the
 * value itself, so garbage never reaches AWS as an instance id or a DNS record.
 *
 * @module
 */

import { request } from "node:http";
import { isIpLiteral, isValidHost } from "../model/endpoint.ts";

/** Where and how to reach the metadata service. */
export interface MetadataOptions {
  /** Environment lookup; default `Deno.env.get`. */
  readonly env?: (name: string) => string | undefined;
  /** Bound on each request. Default 2 s (the original's timeout). */
  readonly timeoutMs?: number;
}

/** Token lifetime asked for; a registerer reads twice at most, so it never expires in use. */
const TOKEN_TTL_SECONDS = 21600;
const V4_ENDPOINT = "http://169.254.169.254";
/** Largest answer read; metadata items are a few dozen bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** An IMDSv2 token is opaque but header-safe; AWS's are ~56 characters. */
const TOKEN = /^[\x21-\x7e]{1,4096}$/;
/** EC2 instance ids: `i-` and 8 or 17 hex digits at AWS; emulators use other letters. */
const INSTANCE_ID = /^i-[0-9a-z]{1,32}$/;
const V6_ENDPOINT = "http://[fd00:ec2::254]";

/** The metadata service could not answer what was asked. */
export class MetadataError extends Error {
  override name = "MetadataError";
}

interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === "true";
}

/**
 * @example
 * ```ts
 * const ITEM = "i-0123456789abcdef0";
 * // A stand-in for the metadata service (IMDSv2: a token, then the item).
 * const imds = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(req.method === "PUT" ? "token" : ITEM));
 * const env = (name: string) =>
 *   name === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? `http://127.0.0.1:${imds.addr.port}` : undefined;
 * const md = new InstanceMetadata({ env }); // on EC2: new InstanceMetadata()
 * await md.get("instance-id"); // "i-0123456789abcdef0"
 * await imds.shutdown();
 * ```
 */
export class InstanceMetadata {
  readonly #env: (name: string) => string | undefined;
  readonly #timeoutMs: number;

  constructor(opts: MetadataOptions = {}) {
    this.#env = opts.env ?? ((n) => Deno.env.get(n));
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  /** The service's base URL, from the environment. */
  get endpoint(): string {
    const explicit = this.#env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (explicit) return explicit.replace(/\/+$/, "");
    const mode = this.#env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
    return mode?.toLowerCase() === "ipv6" ? V6_ENDPOINT : V4_ENDPOINT;
  }

  /**
   * Reads `/latest/meta-data/<item>` (`instance-id`, `public-hostname`, ...). Throws
   * {@linkcode MetadataError} when it is missing (404) or the service cannot be reached.
   */
  async get(item: string, signal?: AbortSignal): Promise<string> {
    if (truthy(this.#env("AWS_EC2_METADATA_DISABLED"))) {
      throw new MetadataError(
        `instance metadata is disabled (AWS_EC2_METADATA_DISABLED): cannot read ${item}`,
      );
    }
    const base = this.endpoint;
    const token = await this.#token(base, signal);
    const url = `${base}/latest/meta-data/${item}`;
    const headers: Record<string, string> = token ? { "x-aws-ec2-metadata-token": token } : {};
    let answer: HttpAnswer;
    try {
      answer = await this.#call("GET", url, headers, signal);
    } catch (err) {
      throw new MetadataError(`instance metadata ${url}: ${(err as Error).message}`);
    }
    if (answer.status === 404) {
      throw new MetadataError(`instance metadata has no ${item} (404 from ${url})`);
    }
    if (answer.status !== 200) {
      throw new MetadataError(`instance metadata ${url}: HTTP ${answer.status}`);
    }
    const value = answer.body.trim();
    if (value === "") throw new MetadataError(`instance metadata ${url}: empty answer`);
    return value;
  }

  /** An IMDSv2 token, or undefined to read without one (IMDSv1). */
  async #token(base: string, signal?: AbortSignal): Promise<string | undefined> {
    const v1Allowed = !truthy(this.#env("AWS_EC2_METADATA_V1_DISABLED"));
    const url = `${base}/latest/api/token`;
    let answer: HttpAnswer;
    try {
      answer = await this.#call(
        "PUT",
        url,
        { "x-aws-ec2-metadata-token-ttl-seconds": String(TOKEN_TTL_SECONDS) },
        signal,
      );
    } catch (err) {
      if (signal?.aborted || !v1Allowed) {
        throw new MetadataError(`instance metadata token ${url}: ${(err as Error).message}`);
      }
      return undefined;
    }
    if (answer.status === 200 && answer.body.trim() !== "") {
      const token = answer.body.trim();
      if (!TOKEN.test(token)) {
        throw new MetadataError(
          `instance metadata token ${url}: not a usable token (${answer.body.length} bytes, ` +
            `not printable ASCII): ${preview(answer.body)}`,
        );
      }
      return token;
    }
    if ([403, 404, 405].includes(answer.status) && v1Allowed) return undefined;
    throw new MetadataError(
      `instance metadata token ${url}: HTTP ${answer.status}${
        v1Allowed ? "" : " (IMDSv1 fallback disabled by AWS_EC2_METADATA_V1_DISABLED)"
      }`,
    );
  }

  #call(
    method: string,
    url: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error("aborted"));
      const req = request(url, { method, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (body.length > MAX_BODY_BYTES) {
            req.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
          }
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      });
      // The whole exchange, not only silence: a body that trickles in never goes idle.
      const timer = setTimeout(
        () => req.destroy(new Error(`no complete answer in ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      const onAbort = () => req.destroy(new Error("aborted"));
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", reject);
      req.on("close", () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      });
      req.end();
    });
  }
}

/** The start of a bad answer, quoted, for an error message. */
function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/**
 * This instance's id, checked: an answer that is not an instance id (an HTML page, a
 * message) is a {@linkcode MetadataError}, never sent to AWS.
 *
 * @example
 * ```ts
 * const ITEM = "i-0123456789abcdef0";
 * // A stand-in for the metadata service (IMDSv2: a token, then the item).
 * const imds = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(req.method === "PUT" ? "token" : ITEM));
 * const env = (name: string) =>
 *   name === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? `http://127.0.0.1:${imds.addr.port}` : undefined;
 * await instanceIdOf(new InstanceMetadata({ env })); // "i-0123456789abcdef0"
 * await imds.shutdown();
 * ```
 */
export async function instanceIdOf(md: InstanceMetadata, signal?: AbortSignal): Promise<string> {
  const id = await md.get("instance-id", signal);
  if (!INSTANCE_ID.test(id)) {
    throw new MetadataError(
      `instance metadata: instance-id is not an EC2 instance id: ${preview(id)}`,
    );
  }
  return id;
}

/**
 * This instance's public DNS name, checked: a DNS name (not an address, no spaces or
 * markup), since it becomes a record's value and set identifier in Route 53.
 *
 * @example
 * ```ts
 * const ITEM = "ec2-54-0-0-1.compute-1.amazonaws.com";
 * // A stand-in for the metadata service (IMDSv2: a token, then the item).
 * const imds = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) =>
 *   new Response(req.method === "PUT" ? "token" : ITEM));
 * const env = (name: string) =>
 *   name === "AWS_EC2_METADATA_SERVICE_ENDPOINT" ? `http://127.0.0.1:${imds.addr.port}` : undefined;
 * await publicHostnameOf(new InstanceMetadata({ env })); // "ec2-54-0-0-1.compute-1.amazonaws.com"
 * await imds.shutdown();
 * ```
 */
export async function publicHostnameOf(
  md: InstanceMetadata,
  signal?: AbortSignal,
): Promise<string> {
  const host = await md.get("public-hostname", signal);
  if (!isValidHost(host) || isIpLiteral(host)) {
    throw new MetadataError(
      `instance metadata: public-hostname is not a DNS name: ${preview(host)}`,
    );
  }
  return host;
}
