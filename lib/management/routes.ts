/**
 * The routes of the management port, by owner. The management server mounts its own
 * (/health, /metrics, /status, ...) and every route a feature added in the wiring (the API
 * source's `/api/...`, later mirroring's), so a feature brings its HTTP surface with it
 * and a clash (two owners, one method and path) is an error at start-up, not a shadowed
 * route.
 *
 * @module
 */

/**
 * Handles one request to a mounted route; `peer` is the client's `address:port` (for
 * the logs of routes that change something), when the server knows it.
 */
export type RouteHandler = (
  req: Request,
  url: URL,
  peer?: string,
) => Response | Promise<Response>;

/** A route a feature mounts. */
export interface RouteSpec {
  /** `GET`, `POST`, ... or several. */
  readonly method: string | readonly string[];
  /**
   * An exact path (`/health`), or a prefix ending in `/*` (`/api/sources/*` matches
   * `/api/sources/` and everything below it). Exact paths win over prefixes; the longest
   * prefix wins among prefixes.
   */
  readonly path: string;
  readonly handler: RouteHandler;
}

/** A mounted route, as listed by {@linkcode RouteRegistry.routes}. */
export interface MountedRoute {
  readonly owner: string;
  readonly method: string;
  readonly path: string;
}

interface Entry extends MountedRoute {
  readonly handler: RouteHandler;
}

/**
 * @example
 * ```ts
 * const routes = new RouteRegistry();
 * routes.add("api source", {
 *   method: ["GET", "PUT"],
 *   path: "/api/sources/*",
 *   handler: (req, url) => new Response(url.pathname),
 * });
 * routes.match("GET", "/api/sources/web"); // the handler
 * ```
 */
export class RouteRegistry {
  readonly #exact = new Map<string, Entry>();
  readonly #prefixes: (Entry & { readonly prefix: string })[] = [];

  /** Mounts `route` for `owner`; throws when another owner has the same method and path. */
  add(owner: string, route: RouteSpec): void {
    const methods = typeof route.method === "string" ? [route.method] : route.method;
    if (!route.path.startsWith("/")) throw new Error(`route path must start with /: ${route.path}`);
    for (const m of methods) {
      const method = m.toUpperCase();
      const key = `${method} ${route.path}`;
      const taken = this.#exact.get(key) ??
        this.#prefixes.find((p) => p.method === method && p.path === route.path);
      if (taken) {
        throw new Error(`${key} is mounted twice: by ${taken.owner} and by ${owner}`);
      }
      const entry = { owner, method, path: route.path, handler: route.handler };
      if (route.path.endsWith("/*")) {
        this.#prefixes.push({ ...entry, prefix: route.path.slice(0, -1) });
        this.#prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
      } else {
        this.#exact.set(key, entry);
      }
    }
  }

  /** Mounts every route of `other` (keeping their owners). */
  addAll(other: RouteRegistry): void {
    for (const r of other.#entries()) this.add(r.owner, r);
  }

  /** The handler for a request, or undefined when nothing is mounted there. */
  match(method: string, pathname: string): RouteHandler | undefined {
    const m = method.toUpperCase();
    return this.#exact.get(`${m} ${pathname}`)?.handler ??
      this.#prefixes.find((p) => p.method === m && pathname.startsWith(p.prefix))?.handler;
  }

  /** Every mounted route (for the status page and tests). */
  routes(): MountedRoute[] {
    return this.#entries().map(({ owner, method, path }) => ({ owner, method, path }));
  }

  #entries(): Entry[] {
    return [...this.#exact.values(), ...this.#prefixes];
  }
}
