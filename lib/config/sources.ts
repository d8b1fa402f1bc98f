/**
 * Sources and their share adjusters: the class key picks a kind from the table, the
 * kind reads its own keys. Also {@linkcode parseSourceConfig}, for one source that
 * arrives on its own (over HTTP, or in a flag such as `--mirror-source`) and must meet
 * the same rules, with the same messages, as inside `--config`.
 *
 * @module
 */

import type { AdjusterConfig, SourceConfig } from "../model/config.ts";
import { type ConfigKinds, type KindContext, resolveClass } from "./kind.ts";
import { type Fields, Walker } from "./walker.ts";

function parseAdjuster(
  w: Walker,
  raw: unknown,
  path: string,
  ctx: KindContext,
): AdjusterConfig | undefined {
  const f = w.fields(raw, path);
  if (!f) return;
  const cls = requiredClass(f, "share_adjuster_class");
  if (cls === undefined) return;
  const r = resolveClass(ctx.kinds.adjusters, cls);
  if (!r.ok) return f.fail("share_adjuster_class", r.reason);
  const config = r.entry.parse(f, { path }, ctx);
  f.end({}, { ignorable: r.entry.ignoresUnknownKeys });
  return config;
}

/**
 * A source object at `path`: its class, its share adjusters, then its kind's own keys.
 * An unknown or unsupported class is the only error reported for the object: its other
 * keys mean nothing without a kind.
 */
export function parseSource(
  w: Walker,
  raw: unknown,
  path: string,
  ctx: KindContext,
): SourceConfig | undefined {
  const f = w.fields(raw, path);
  if (!f) return;
  const cls = requiredClass(f, "source_class");
  if (cls === undefined) return;
  const r = resolveClass(ctx.kinds.sources, cls);
  if (!r.ok) return f.fail("source_class", r.reason);
  const shareAdjusters = f.each(
    "share_adjusters",
    false,
    (a, p) => parseAdjuster(w, a, p, ctx),
  );
  const config = r.entry.parse(f, { path, shareAdjusters }, ctx);
  f.end({}, { ignorable: r.entry.ignoresUnknownKeys });
  return config;
}

/** The class key's value, or undefined (with the error recorded). */
function requiredClass(f: Fields, key: string): string | undefined {
  const cls = f.requiredString(key);
  return cls === "" ? undefined : cls;
}

/** Options of {@linkcode parseSourceConfig}. */
export interface SourceConfigOptions {
  /** The kinds to accept, e.g. `BUILTIN_KINDS` from `lib/kinds.ts`. */
  readonly kinds: ConfigKinds;
  /**
   * Where the source came from, the root of every error path: `--mirror-source` gives
   * `--mirror-source.zk_servers: required, a string`. Default `source`.
   */
  readonly root?: string;
}

/**
 * Validates one source given as parsed JSON, exactly as a source inside `--config` is
 * validated; throws {@linkcode UsageErrors} listing every problem.
 *
 * @example
 * ```ts
 * import { BUILTIN_KINDS } from "../kinds.ts";
 * import { parseJsonText } from "./load.ts";
 * const flag = '{"source_class": "static", "name": "a", "host": "10.0.0.1", "port": 80}';
 * const raw = parseJsonText(flag, "--mirror-source");
 * const source = parseSourceConfig(raw, { kinds: BUILTIN_KINDS, root: "--mirror-source" });
 * source.path; // "--mirror-source"
 * ```
 */
export function parseSourceConfig(raw: unknown, options: SourceConfigOptions): SourceConfig {
  const w = new Walker();
  const source = parseSource(w, raw, options.root ?? "source", { kinds: options.kinds });
  w.throwIfErrors();
  if (!source) throw new Error("internal: a source that failed to parse recorded no error");
  return source;
}
