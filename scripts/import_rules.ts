/**
 * The import-direction rules of aurproxy as a pure function over a module graph, so the
 * rules are unit-tested on small graphs and `scripts/check_imports.ts` only gathers the
 * graph (`deno info --json`) and prints what this returns.
 *
 * Paths are relative to the repository root, with `/`: `lib/zk/session.ts`.
 *
 * @module
 */

/**
 * THE layer table (the one place it is written down; docs/development describes it).
 * A module may import modules of its own layer or lower, never higher. The most specific
 * entry wins (`lib/lifecycle/signal.ts` is base while the rest of `lib/lifecycle/` is 4).
 * A folder directly under `lib/` that is not listed is a feature folder (mirror, register,
 * …) at {@linkcode FEATURE_LAYER}; a file directly under `lib/` must be listed.
 */
export const LAYERS: readonly { readonly layer: number; readonly paths: readonly string[] }[] = [
  // Base: time, errors, logging, text helpers, the change signal. Imports nothing of ours.
  {
    layer: 0,
    paths: [
      "lib/clock.ts",
      "lib/errors.ts",
      "lib/log.ts",
      "lib/text/",
      "lib/lifecycle/signal.ts",
      // The version, read from the manifest.
      "lib/version.ts",
      "deno.json",
    ],
  },
  // The plain data every layer shares: endpoint, snapshot, config, health, share, member.
  { layer: 1, paths: ["lib/model/"] },
  // Leaf services over the model.
  { layer: 2, paths: ["lib/config/", "lib/metrics/", "lib/process/", "lib/zk/", "lib/balance/"] },
  // Where endpoints and share factors come from.
  { layer: 3, paths: ["lib/sources/", "lib/share/"] },
  // What consumes them: the pipeline, the backends, shutdown, observability.
  {
    layer: 4,
    paths: [
      "lib/backends/",
      "lib/pipeline/",
      "lib/lifecycle/",
      "lib/observability/",
      "lib/kinds.ts",
    ],
  },
  // The management server and feature folders; lib/app.ts wires pipeline and backends
  // until the pipeline split dissolves it.
  { layer: 5, paths: ["lib/management/", "lib/app.ts"] },
  // Command line and wiring of the object graph.
  { layer: 6, paths: ["lib/cli/"] },
  // Entry points.
  { layer: 7, paths: ["main.ts", "mod.ts"] },
];

/** The layer of a folder directly under `lib/` that {@linkcode LAYERS} does not list. */
export const FEATURE_LAYER = 5;

/** Top folders of code that ships (shipped code imports only shipped code). */
const SHIPPED = (path: string) =>
  path.startsWith("lib/") || path === "main.ts" || path === "mod.ts" || path === "deno.json";

/** One import: `from` imports `to` (a type-only import counts too). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

/** Where a module sits: its layer and the table entry (or feature folder) that put it there. */
export interface Placement {
  readonly layer: number;
  readonly unit: string;
}

/** A broken rule, ready to print with {@linkcode formatViolation}. */
export type Violation =
  | {
    readonly kind: "upward";
    readonly edge: ImportEdge;
    readonly from: Placement;
    readonly to: Placement;
  }
  | { readonly kind: "forbidden"; readonly edge: ImportEdge; readonly reason: string }
  | { readonly kind: "unclassified"; readonly path: string }
  | {
    readonly kind: "cycle";
    /** The folders round the loop, in order; the last imports the first. */
    readonly folders: readonly string[];
    readonly imports: readonly { edge: ImportEdge; from: string; to: string }[];
  };

/**
 * The layer of `path`, or undefined for code outside the layers (tests, testing, bench,
 * scripts, examples) and for a file directly under `lib/` missing from the table.
 *
 * @example
 * ```ts
 * import { placement } from "./import_rules.ts";
 * placement("lib/lifecycle/signal.ts"); // { layer: 0, unit: "lib/lifecycle/signal.ts" }
 * placement("lib/mirror/gor.ts"); // { layer: 5, unit: "lib/mirror/" }
 * ```
 */
export function placement(path: string): Placement | undefined {
  let best: Placement | undefined;
  for (const { layer, paths } of LAYERS) {
    for (const p of paths) {
      const hit = p.endsWith("/") ? path.startsWith(p) : path === p;
      if (hit && (!best || p.length > best.unit.length)) best = { layer, unit: p };
    }
  }
  if (best) return best;
  const feature = path.match(/^lib\/[^/]+\//);
  return feature ? { layer: FEATURE_LAYER, unit: feature[0] } : undefined;
}

/**
 * Every broken rule in the graph: an import from a lower layer to a higher one; shipped
 * code (`lib/`, `main.ts`, `mod.ts`) importing anything else (tests/, testing/, bench/…);
 * `bench/` or `testing/` importing `tests/`; a file directly under `lib/` not in the layer
 * table; and cycles between folders of `lib/`.
 *
 * @example
 * ```ts
 * import { checkImports } from "./import_rules.ts";
 * checkImports([{ from: "lib/config/did_you_mean.ts", to: "lib/cli/suggest.ts" }]);
 * // [{ kind: "upward", … from: { layer: 2, … }, to: { layer: 6, … } }]
 * ```
 */
export function checkImports(edges: Iterable<ImportEdge>): Violation[] {
  const out: Violation[] = [];
  const all = [...edges];
  const unclassified = new Set<string>();
  for (const edge of all) {
    for (const p of [edge.from, edge.to]) {
      if (SHIPPED(p) && !placement(p)) unclassified.add(p);
    }
    if (SHIPPED(edge.from) && !SHIPPED(edge.to)) {
      out.push({ kind: "forbidden", edge, reason: "shipped code imports only shipped code" });
      continue;
    }
    const helper = edge.from.startsWith("bench/") || edge.from.startsWith("testing/");
    if (helper && edge.to.startsWith("tests/")) {
      out.push({ kind: "forbidden", edge, reason: "shared helpers live in testing/" });
      continue;
    }
    const from = placement(edge.from);
    const to = placement(edge.to);
    if (from && to && to.layer > from.layer) {
      out.push({ kind: "upward", edge, from, to });
    }
  }
  for (const path of [...unclassified].sort()) out.push({ kind: "unclassified", path });
  out.push(...folderCycles(all));
  return out;
}

/**
 * The folder a module counts as when seen from a sibling folder: imports between
 * `lib/share/health/` and `lib/sources/` are imports between `lib/share` and `lib/sources`.
 * A file directly under `lib/` is a unit of its own. Imports between a folder and its own
 * subfolders (an interface and its implementations) are not folder edges.
 */
function folderEdge(edge: ImportEdge): { from: string; to: string } | undefined {
  if (!edge.from.startsWith("lib/") || !edge.to.startsWith("lib/")) return undefined;
  const units = (p: string) => {
    const segs = p.split("/");
    // lib/x.ts is its own unit; lib/a/b/c.ts is in lib/a/b.
    return segs.length === 2 ? segs : segs.slice(0, -1);
  };
  const a = units(edge.from);
  const b = units(edge.to);
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  if (k === a.length || k === b.length) return undefined;
  return { from: a.slice(0, k + 1).join("/"), to: b.slice(0, k + 1).join("/") };
}

function folderCycles(edges: readonly ImportEdge[]): Violation[] {
  const graph = new Map<string, Set<string>>();
  const witnesses = new Map<string, ImportEdge[]>();
  for (const edge of edges) {
    const f = folderEdge(edge);
    if (!f) continue;
    if (!graph.has(f.from)) graph.set(f.from, new Set());
    if (!graph.has(f.to)) graph.set(f.to, new Set());
    graph.get(f.from)!.add(f.to);
    const key = `${f.from}\0${f.to}`;
    witnesses.set(key, [...witnesses.get(key) ?? [], edge]);
  }
  const out: Violation[] = [];
  for (const scc of stronglyConnected(graph)) {
    if (scc.length < 2) continue;
    const cycle = shortestCycle(graph, new Set(scc));
    const imports = [];
    for (let i = 0; i < cycle.length; i++) {
      const from = cycle[i];
      const to = cycle[(i + 1) % cycle.length];
      for (const edge of witnesses.get(`${from}\0${to}`)!) imports.push({ edge, from, to });
    }
    out.push({ kind: "cycle", folders: cycle, imports });
  }
  return out;
}

/**
 * The shortest loop among a strongly connected set of folders: the one to show, since
 * listing every import among the folders buries the ones that close the loop. Fixing it
 * may reveal another loop of the same set on the next run.
 */
function shortestCycle(graph: Map<string, Set<string>>, members: Set<string>): string[] {
  let best: string[] | undefined;
  for (const start of [...members].sort()) {
    const found = cycleThrough(graph, members, start);
    if (found && (!best || found.length < best.length)) best = found;
  }
  return best!; // a strongly connected set of two or more always has a loop
}

/** Breadth-first: the shortest loop from `start` back to itself within `members`. */
function cycleThrough(
  graph: Map<string, Set<string>>,
  members: Set<string>,
  start: string,
): string[] | undefined {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of [...graph.get(v)!].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return path;
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return undefined;
}

/** Tarjan's algorithm: the strongly connected components of `graph`. */
function stronglyConnected(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      out.push(scc);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * One violation as the lines the checker prints, each import as
 * `from → to (layer a → layer b)`.
 *
 * @example
 * ```ts
 * import { checkImports, formatViolation } from "./import_rules.ts";
 * const [v] = checkImports([{ from: "lib/zk/sessions.ts", to: "lib/management/health.ts" }]);
 * formatViolation(v);
 * // ["upward import: lib/zk/sessions.ts → lib/management/health.ts (layer 2 lib/zk/ → layer 5 lib/management/)"]
 * ```
 */
export function formatViolation(v: Violation): string[] {
  switch (v.kind) {
    case "upward":
      return [
        `upward import: ${v.edge.from} → ${v.edge.to} ` +
        `(layer ${v.from.layer} ${v.from.unit} → layer ${v.to.layer} ${v.to.unit})`,
      ];
    case "forbidden":
      return [
        `forbidden import: ${v.edge.from} → ${v.edge.to} ` +
        `(${top(v.edge.from)} → ${top(v.edge.to)}: ${v.reason})`,
      ];
    case "unclassified":
      return [`not in the layer table (scripts/import_rules.ts): ${v.path}`];
    case "cycle":
      return [
        `folder cycle: ${[...v.folders, v.folders[0]].join(" → ")}`,
        ...v.imports.map((i) => `  ${i.edge.from} → ${i.edge.to} (${i.from} → ${i.to})`),
      ];
  }
}

function top(path: string): string {
  return path.includes("/") ? path.slice(0, path.indexOf("/") + 1) : path;
}
