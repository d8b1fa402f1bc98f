/**
 * The HTTP API of one ApiSource, mounted on the management port (the original's paths,
 * each with and without the trailing slash):
 *
 * - `GET /api/source/<name>/sources` → 200 `{"sources": [<names>]}`
 * - `GET /api/source/<name>/source/<source>/` → 200 `{"source": {...}, "expiration": ...}`,
 *   404 `{"message": "Source <source> doesn't exist"}`
 * - `PUT` the same → 201 new, 200 replaced (the source config echoed); 400, 403, 413
 * - `DELETE` the same → 204, 404
 *
 * PUT and DELETE also pass `./request_guard.ts` (Origin, bearer token, body size), and
 * each is logged with the peer's address, what was asked and the answer.
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { ApiSource } from "./api_source.ts";
import { checkPut, type PutRules } from "./put_body.ts";
import { checkToken, readJsonBody, type Refusal } from "./request_guard.ts";
import type { ApiToken } from "./token.ts";

/** A request handler, as the management port's route registry calls it. */
export type ApiHandler = (
  req: Request,
  url: URL,
  ctx?: { readonly peer: string },
) => Response | Promise<Response>;

/**
 * Where routes are mounted: the management port's `RouteRegistry` fits (this folder may
 * not import it: `lib/management/` sits above the sources).
 */
export interface RouteSink {
  add(
    owner: string,
    route: { readonly method: string | readonly string[]; path: string; handler: ApiHandler },
  ): void;
}

/** What the routes need besides the ApiSource. */
export interface ApiRouteDeps {
  /** The rules of a PUT at the time of the request. */
  readonly rules: () => PutRules;
  readonly token?: ApiToken;
  readonly logger: Logger;
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

const refused = (r: Refusal, errors?: readonly string[]) =>
  json(
    errors && errors.length > 1 ? { message: r.message, errors } : { message: r.message },
    r.status,
    {
      ...r.headers,
    },
  );

const NOT_ALLOWED = (allow: string) =>
  json({ message: "The method is not allowed for the requested URL." }, 405, { allow });

// deno-lint-ignore no-control-regex -- control characters are what is refused
const NAME = /^[^/\x00-\x1f\x7f]{1,128}$/;

/** `web` from `web` or `web/` (percent-decoded), or undefined when it names no source. */
function managedName(rest: string): string | undefined {
  const raw = rest.endsWith("/") ? rest.slice(0, -1) : rest;
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return NAME.test(name) ? name : undefined;
}

/** Printable ASCII for a log line: names and classes come from the request. */
const printable = (s: string) => JSON.stringify(s).replace(/[^\x20-\x7e]/g, "?").slice(0, 200);

/**
 * Mounts the routes of `source` on `routes`, owned by `ApiSource <name>`.
 *
 * @example
 * ```ts
 * import { systemClock as clock } from "../../clock.ts";
 * import { BUILTIN_KINDS, parseSourceConfig } from "../../kinds.ts";
 * import { memoryLogger } from "../../log.ts";
 * import { RouteRegistry } from "../../management/routes.ts";
 * import type { ApiSourceConfig } from "../../model/config.ts";
 * import { ApiSource } from "./api_source.ts";
 * import { StaticSource } from "../static.ts";
 *
 * const logger = memoryLogger();
 * const config = parseSourceConfig({ source_class: "api", name: "dyn" }) as ApiSourceConfig;
 * const source = new ApiSource(config, {
 *   createSource: (c) => new StaticSource(c as never),
 *   clock,
 *   logger,
 * });
 * const routes = new RouteRegistry();
 * const rules = { kinds: BUILTIN_KINDS, allowed: new Set(["static"]), now: clock.now() };
 * mountApiRoutes(routes, source, { rules: () => rules, logger });
 * const url = new URL("http://127.0.0.1/api/source/dyn/sources");
 * const res = await routes.match("GET", url.pathname)!(new Request(url), url, { peer: "127.0.0.1" });
 * await res.json(); // { sources: [] }
 * ```
 */
export function mountApiRoutes(routes: RouteSink, source: ApiSource, deps: ApiRouteDeps): void {
  const owner = `ApiSource ${source.config.name}`;
  const base = `/api/source/${source.config.name}`;
  const list: ApiHandler = () => json({ sources: source.list() });
  for (const path of [`${base}/sources`, `${base}/sources/`]) {
    routes.add(owner, { method: ["GET", "HEAD"], path, handler: list });
    routes.add(owner, {
      method: ["PUT", "POST", "DELETE", "PATCH"],
      path,
      handler: () => NOT_ALLOWED("GET, HEAD"),
    });
  }
  const prefix = `${base}/source/`;
  const one = itemHandler(source, prefix, deps);
  routes.add(owner, { method: ["GET", "HEAD", "PUT", "DELETE"], path: `${prefix}*`, handler: one });
  routes.add(owner, {
    method: ["POST", "PATCH"],
    path: `${prefix}*`,
    handler: () => NOT_ALLOWED("GET, HEAD, PUT, DELETE"),
  });
}

function itemHandler(source: ApiSource, prefix: string, deps: ApiRouteDeps): ApiHandler {
  const log = deps.logger;
  return async (req, url, ctx) => {
    const peer = ctx?.peer ?? "unknown peer";
    const name = managedName(url.pathname.slice(prefix.length));
    if (name === undefined) return json({ message: "Not found" }, 404);
    const missing = () => json({ message: `Source ${name} doesn't exist` }, 404);
    if (req.method === "GET" || req.method === "HEAD") {
      const m = source.get(name);
      return m ? json(m) : missing();
    }
    const what = `${req.method} ${printable(name)} from ${peer}`;
    const answer = (res: Response, result: string) => {
      const line = `${what}: ${res.status} ${result}`;
      if (res.status >= 500) log.error(line);
      else if (res.status >= 400) log.warn(line);
      else log.info(line);
      return res;
    };
    // A foreign Origin never gets here: the management server refuses it on every route.
    const guard = checkToken(req, deps.token);
    if (guard) {
      await req.body?.cancel().catch(() => {});
      return answer(refused(guard), guard.message);
    }
    if (req.method === "DELETE") {
      return await source.delete(name)
        ? answer(new Response(null, { status: 204 }), "deleted")
        : answer(missing(), "no such source");
    }
    const body = await readJsonBody(req);
    if (!body.ok) return answer(refused(body), body.message);
    const put = checkPut(body.value, deps.rules());
    if (!put.ok) return answer(refused(put, put.errors), printable(put.message));
    if (put.config.shareAdjusters.length) {
      log.warn(
        `${what}: the share_adjusters of a managed source are not applied; ` +
          `the ApiSource's own share_adjusters apply to every endpoint`,
      );
    }
    let outcome;
    try {
      outcome = await source.put(name, put);
    } catch (err) {
      log.error(`${what}: the source failed to start`, err);
      return answer(
        json({ message: `Source ${name} failed to start: ${(err as Error).message}` }, 500),
        "failed to start",
      );
    }
    const expires = put.expiresAt === null
      ? ""
      : `, expires ${new Date(put.expiresAt).toISOString()}`;
    return answer(
      json(put.raw, outcome === "created" ? 201 : 200),
      `${outcome} (${put.config.kind}${expires})`,
    );
  };
}
