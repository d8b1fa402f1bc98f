/**
 * Validates the JSON of `--config` into the typed model of `lib/model/config.ts`. Every
 * problem is collected in one pass and thrown together as {@linkcode UsageErrors}, each
 * naming its JSON path (`servers[0].routes[1].locations`) and what was expected. Nothing
 * starts before the whole config is valid.
 *
 * The parser knows no kind: sources, share adjusters and backends come in a
 * {@linkcode ConfigKinds} table (`BUILTIN_KINDS` in `lib/kinds.ts`), each reading its own
 * keys. The top level holds `backend`, `context` and `servers`, plus the keys of the
 * selected backend.
 *
 * Decisions worth knowing:
 * - Numbers may be numeric strings (`"90"`), as the original accepted them; `"abc"` and
 *   `"0x10"` are refused.
 * - Every string that reaches the proxy's config is checked for syntax (`./checks.ts`).
 * - Two servers may share a port only as HTTP virtual hosts answering different names.
 * - Slugs (upstream names) are stable across restarts of the same config (`./slugs.ts`).
 *
 * @module
 */

import { type UsageError, UsageErrors } from "../errors.ts";
import type { ProxyConfig } from "../model/config.ts";
import { checkPortClashes } from "./clashes.ts";
import { parseContext } from "./context.ts";
import type { ConfigBackend, ConfigKinds } from "./kind.ts";
import { parseServer } from "./servers.ts";
import { slugAllocator } from "./slugs.ts";
import { describe, Fields, Walker } from "./walker.ts";

/** Options of {@linkcode parseConfig}. */
export interface ParseOptions {
  /** The kinds and backends to accept, e.g. `BUILTIN_KINDS` from `lib/kinds.ts`. */
  readonly kinds: ConfigKinds;
  /**
   * The backend of a config without a `"backend"` key (a `--backend` flag, say), and
   * where to report it when it names no backend. Without it, `"backend"` is required.
   */
  readonly defaultBackend?: { readonly name: string; readonly path: string };
  /**
   * Called for each key the original ignored (an unknown key on the top level, a server,
   * a route or a stream), which is then ignored too; the warning names the key and a
   * did-you-mean. Without it, such a key is an error (`validate --strict`).
   */
  readonly onIgnoredKey?: (warning: UsageError) => void;
}

/** `"nginx"`, or `one of "nginx", "haproxy"`. */
function backendNames(backends: readonly ConfigBackend[]): string {
  const names = backends.map((b) => JSON.stringify(b.name));
  return names.length === 1 ? names[0] : `one of ${names.join(", ")}`;
}

/** The selected backend, or undefined with the error recorded. */
function selectBackend(f: Fields, options: ParseOptions): ConfigBackend | undefined {
  const backends = options.kinds.backends;
  const names = backendNames(backends);
  const value = f.raw("backend");
  if (value === undefined && options.defaultBackend) {
    const { name, path } = options.defaultBackend;
    const b = backends.find((b) => b.name === name);
    if (!b) f.walker.fail(path, `expected ${names}, got ${describe(name)}`);
    return b;
  }
  if (value === undefined) return f.fail("backend", `required, ${names}`);
  const b = backends.find((b) => b.name === value);
  if (!b) f.fail("backend", `expected ${names}, got ${describe(value)}`);
  return b;
}

/**
 * Validates a parsed JSON config; throws {@linkcode UsageErrors} listing every problem.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * const source = { source_class: "static", name: "web", host: "10.0.0.1", port: 9000 };
 * const raw = {
 *   backend: "nginx",
 *   servers: [{ hosts: ["default"], ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }],
 * };
 * const config = parseConfig(raw, { kinds: BUILTIN_KINDS });
 * config.servers[0].routes[0].slug; // "s_default_8080_r0_root"
 * ```
 */
export function parseConfig(raw: unknown, options: ParseOptions): ProxyConfig {
  const w = new Walker({ onIgnoredKey: options.onIgnoredKey });
  const o = w.object(raw, "(config)");
  if (!o) throw new UsageErrors(w.errors);
  // Top-level keys are named bare: `servers[0]`, `stats_port`.
  const f = new Fields(w, o, "");
  // Known only when present: it is no key to suggest for a typo.
  if ("template_file" in o) {
    f.raw("template_file");
    f.fail("template_file", "not supported: the nginx template is built in");
  }
  const backend = selectBackend(f, options);
  const context = parseContext(f, false);
  const ctx = { walker: w, kinds: options.kinds, uniqueSlug: slugAllocator() };
  const servers = f.each("servers", true, (s, p) => parseServer(s, p, ctx));
  checkPortClashes(w, servers);
  const backendOptions = backend?.parseOptions(f, servers);
  if (!backend) {
    // Which backend was meant is unknown, so any backend's keys may be right: each
    // backend reads the top level on a scratch walker, just to make its keys known.
    for (const b of options.kinds.backends) b.parseOptions(f.withWalker(new Walker()), servers);
  }
  f.end({}, { ignorable: true });
  w.flushWarnings();
  w.throwIfErrors();
  if (!backend) throw new Error("internal: no backend and no error");
  return { backend: backend.name, backendOptions, context, servers };
}
