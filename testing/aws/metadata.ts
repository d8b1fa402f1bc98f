/**
 * An EC2 instance metadata service for tests, on a loopback port (point
 * `AWS_EC2_METADATA_SERVICE_ENDPOINT` at `url`). By default it is IMDSv2-only, as AWS
 * recommends: `PUT /latest/api/token` hands out a token and every read must carry it.
 * `v1Only` plays an old service (or a proxy) that refuses the token request and answers
 * plain reads. `respond` plays a broken or hostile one: it answers any request itself
 * (garbage, an HTML page, a body that never ends) before the service would.
 *
 * @module
 */

/** Options of {@linkcode startMetadataStandIn}. */
export interface MetadataStandInOptions {
  readonly instanceId?: string;
  /** Undefined: the instance has no public host name (404, as in a private subnet). */
  readonly publicHostname?: string;
  /** Refuse the token request with this status (404 or 405 like IMDSv1; 403 when disabled). */
  readonly v1Only?: boolean;
  readonly tokenRefusalStatus?: number;
  /** Answers a request instead of the service, when it returns a response. */
  readonly respond?: (req: MetadataRequest) => Response | undefined;
}

/** One request the stand-in got. */
export interface MetadataRequest {
  readonly method: string;
  readonly path: string;
  readonly token?: string;
  readonly ttl?: string;
  /** When it arrived (`performance.now()` of the test process). */
  readonly at: number;
}

/** A running stand-in. */
export interface MetadataStandIn extends AsyncDisposable {
  readonly url: string;
  readonly requests: MetadataRequest[];
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * await using md = await startMetadataStandIn({ instanceId: "i-0abc" });
 * Deno.env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.url);
 * ```
 */
export function startMetadataStandIn(opts: MetadataStandInOptions = {}): MetadataStandIn {
  const tokens = new Set<string>();
  const requests: MetadataRequest[] = [];
  const items: Record<string, string | undefined> = {
    "instance-id": opts.instanceId ?? "i-0123456789abcdef0",
    "public-hostname": opts.publicHostname,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    const token = req.headers.get("x-aws-ec2-metadata-token") ?? undefined;
    const ttl = req.headers.get("x-aws-ec2-metadata-token-ttl-seconds") ?? undefined;
    const request = { method: req.method, path, token, ttl, at: performance.now() };
    requests.push(request);
    const own = opts.respond?.(request);
    if (own) return own;
    if (path === "/latest/api/token") {
      if (req.method !== "PUT") return new Response("", { status: 405 });
      if (opts.v1Only) return new Response("", { status: opts.tokenRefusalStatus ?? 404 });
      if (!ttl) return new Response("missing ttl", { status: 400 });
      const t = `token-${crypto.randomUUID()}`;
      tokens.add(t);
      return new Response(t);
    }
    if (req.method !== "GET") return new Response("", { status: 405 });
    if (!opts.v1Only && (!token || !tokens.has(token))) return new Response("", { status: 401 });
    const m = /^\/latest\/meta-data\/(.+)$/.exec(path);
    const value = m ? items[m[1]] : undefined;
    return value === undefined ? new Response("Not Found", { status: 404 }) : new Response(value);
  });
  const close = () => server.shutdown();
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}
