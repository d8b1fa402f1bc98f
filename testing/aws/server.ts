/**
 * A local AWS for tests: one HTTP server on a loopback port that answers ELB, ELBv2 and
 * EC2 (query protocol) and Route 53 (REST-XML) from an {@linkcode AwsWorld}, after
 * checking each request's SigV4 signature against the test's keys and region. The real
 * SDK clients reach it through `AWS_ENDPOINT_URL` (see {@linkcode AwsStandIn.env}), as a
 * user points them at any AWS emulator.
 *
 * Faults are injected per service and action: an error answer (`Throttling` 400, a 500)
 * a number of times, a raw body of the test's choosing (malformed XML), or a hang (no
 * answer until the stand-in closes). Every request is logged in `calls` with the time it
 * arrived, so a test can assert that a dry run wrote nothing, or when a call came; a hook
 * ({@linkcode AwsStandIn.onCall}) runs before a call is answered, so a test can look at
 * the world (is nginx serving? does /health say "shutting down"?) at that very moment.
 *
 * @module
 */

import {
  handleEc2,
  handleElb,
  handleElbV2,
  type Params,
  QUERY_VERSIONS,
  queryError,
} from "./query.ts";
import { handleRoute53, isRoute53Path, route53Action, route53Error } from "./route53.ts";
import { type SigV4Parts, verifySigV4 } from "./sigv4.ts";
import { AwsFault, AwsWorld } from "./world.ts";

/** A service of the stand-in. */
export type StandInService = "elb" | "elbv2" | "ec2" | "route53";

const SIGNING_NAME: Record<StandInService, string> = {
  elb: "elasticloadbalancing",
  elbv2: "elasticloadbalancing",
  ec2: "ec2",
  route53: "route53",
};

/** One request the stand-in received. */
export interface Call {
  readonly service: StandInService;
  readonly action: string;
  readonly params: Params;
  readonly signature?: SigV4Parts;
  /** Why it was refused (signature, fault), if it was. */
  readonly refused?: string;
  /** When it arrived (`performance.now()` of the test process). */
  readonly at: number;
}

/** A fault to inject. */
export interface FaultSpec {
  readonly service?: StandInService;
  readonly action?: string;
  /** How many matching requests it hits; default every one. */
  readonly times?: number;
  /** Answer this status with `code` (default 500 `InternalFailure`). */
  readonly status?: number;
  readonly code?: string;
  /** Never answer (until the stand-in closes), instead of an error. */
  readonly hang?: boolean;
  /** Answer this body verbatim (with `status`, default 200) instead of an error document. */
  readonly body?: string;
}

/** Runs before a call is answered; the answer waits for it. */
export type CallHook = (call: Call) => void | Promise<void>;

/** Options of {@linkcode startAwsStandIn}. */
export interface AwsStandInOptions {
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly region?: string;
}

/** A running stand-in. */
export interface AwsStandIn {
  readonly url: string;
  readonly world: AwsWorld;
  readonly calls: Call[];
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** Injects a fault; returns a function that lifts it. */
  fault(spec: FaultSpec): () => void;
  /** Calls of one service and action (answered or not). */
  callsOf(action: string): Call[];
  /**
   * Runs `hook` before each call (signed or not, faulty or not) is answered; returns a
   * function that removes it. A hook that throws fails nothing: the error is kept in
   * `hookErrors` for the test to assert on.
   */
  onCall(hook: CallHook): () => void;
  /** Errors thrown by hooks. */
  readonly hookErrors: unknown[];
  /** Environment for a client process: endpoint, keys, region, retry settings. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * @example
 * ```ts
 * await using aws = startAwsStandIn();
 * aws.world.addElb("web", ["i-1"]);
 * ```
 */
export function startAwsStandIn(opts: AwsStandInOptions = {}): AwsStandIn & AsyncDisposable {
  const accessKeyId = opts.accessKeyId ?? "AKIDSTANDIN";
  const secretAccessKey = opts.secretAccessKey ?? "standin-secret-key";
  const region = opts.region ?? "us-east-1";
  const world = new AwsWorld();
  const calls: Call[] = [];
  const faults: { spec: FaultSpec; left: number }[] = [];
  const closing = new AbortController();
  const hooks = new Set<CallHook>();
  const hookErrors: unknown[] = [];
  let requestNo = 0;
  const record = async (call: Call) => {
    calls.push(call);
    for (const h of [...hooks]) {
      try {
        await h(call);
      } catch (err) {
        hookErrors.push(err);
      }
    }
  };

  const handle = async (req: Request): Promise<Response> => {
    const at = performance.now();
    const id = `req-${++requestNo}`;
    const url = new URL(req.url);
    const body = new Uint8Array(await req.arrayBuffer());
    const bodyText = new TextDecoder().decode(body);
    let service: StandInService;
    let action: string;
    let params: Params = {};
    if (isRoute53Path(url.pathname)) {
      service = "route53";
      action = route53Action(req.method);
      params = Object.fromEntries(url.searchParams);
    } else {
      params = Object.fromEntries(new URLSearchParams(bodyText));
      const s = QUERY_VERSIONS[params.Version ?? ""];
      if (!s) return new Response(`unknown API version ${params.Version}`, { status: 400 });
      service = s;
      action = params.Action ?? "";
    }
    const answer = (status: number, xmlText: string) =>
      new Response(xmlText, {
        status,
        headers: { "content-type": "text/xml", "x-amzn-requestid": id },
      });
    const error = (f: AwsFault) =>
      answer(f.status, service === "route53" ? route53Error(f, id) : queryError(service, f, id));
    const sig = await verifySigV4(req, body, {
      accessKeyId,
      secretAccessKey,
      // Route 53 is global: signed for us-east-1 at AWS, for the client's region elsewhere.
      regions: service === "route53" ? [region, "us-east-1"] : [region],
      service: SIGNING_NAME[service],
    });
    if ("code" in sig) {
      await record({ service, action, params, refused: `${sig.code}: ${sig.message}`, at });
      return error(new AwsFault(403, sig.code, sig.message));
    }
    const f = faults.find((x) =>
      x.left > 0 && (x.spec.service ?? service) === service && (x.spec.action ?? action) === action
    );
    if (f) {
      f.left--;
      await record({
        service,
        action,
        params,
        signature: sig,
        refused: f.spec.hang ? "hang" : f.spec.body !== undefined ? "body" : f.spec.code ??
          "InternalFailure",
        at,
      });
      if (f.spec.hang) {
        await new Promise<void>((r) =>
          closing.signal.addEventListener("abort", () => r(), { once: true })
        );
        return new Response("closing", { status: 503 });
      }
      if (f.spec.body !== undefined) return answer(f.spec.status ?? 200, f.spec.body);
      return error(
        new AwsFault(f.spec.status ?? 500, f.spec.code ?? "InternalFailure", "injected fault"),
      );
    }
    await record({ service, action, params, signature: sig, at });
    try {
      switch (service) {
        case "elb":
          return answer(200, handleElb(world, action, params, id));
        case "elbv2":
          return answer(200, handleElbV2(world, action, params, id));
        case "ec2":
          return answer(200, handleEc2(world, action, params, id));
        case "route53":
          return answer(200, handleRoute53(world, req.method, url, bodyText));
      }
    } catch (err) {
      if (err instanceof AwsFault) return error(err);
      return error(new AwsFault(500, "InternalFailure", String(err)));
    }
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handle);
  const url = `http://127.0.0.1:${server.addr.port}`;
  const close = async () => {
    closing.abort();
    await server.shutdown();
  };
  return {
    url,
    world,
    calls,
    accessKeyId,
    secretAccessKey,
    region,
    fault(spec) {
      const entry = { spec, left: spec.times ?? Infinity };
      faults.push(entry);
      return () => {
        entry.left = 0;
      };
    },
    callsOf: (action) => calls.filter((c) => c.action === action),
    onCall(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    hookErrors,
    env: () => ({
      AWS_ENDPOINT_URL: url,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
      // Never the real metadata service: a closed loopback port if anything asks it.
      AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://127.0.0.1:9",
    }),
    close,
    [Symbol.asyncDispose]: close,
  };
}
