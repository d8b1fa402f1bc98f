/**
 * Fails (exit 1) when an import runs the wrong way: upward through the layers, from
 * shipped code into tests/ or testing/, from bench/ or testing/ into tests/, or round a
 * cycle of lib/ folders. The rules and the layer table are in `scripts/import_rules.ts`;
 * this script gathers the module graph with `deno info --json` and prints the offences,
 * one import a line as `from → to (layer a → layer b)`.
 *
 * The graph is that of main.ts, mod.ts, every bench/ and testing/ module, and every lib/
 * module (so one nothing imports yet is checked too).
 *
 * ```sh
 * deno run --allow-read --allow-run scripts/check_imports.ts
 * ```
 *
 * @module
 */

import { checkImports, formatViolation, type ImportEdge } from "./import_rules.ts";

const ROOT = new URL("../", import.meta.url);

/** The part of `deno info --json` this script reads. */
interface DenoInfo {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/** Project-relative path of a `file:` URL inside the repository, else undefined. */
function local(specifier: string): string | undefined {
  if (!specifier.startsWith(ROOT.href)) return undefined;
  return decodeURIComponent(specifier.slice(ROOT.href.length));
}

async function denoInfo(path: string): Promise<DenoInfo> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", path],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno info ${path} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Every .ts file under `dir` (project-relative), sorted; none if it does not exist. */
async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(new URL(rel, ROOT))];
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      if (e.isDirectory) await walk(`${rel}${e.name}/`);
      else if (e.isFile && e.name.endsWith(".ts")) out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir.endsWith("/") ? dir : `${dir}/`);
  return out.sort();
}

/** The import edges among repository modules reachable from `roots`. */
async function gather(roots: readonly string[]): Promise<{ edges: ImportEdge[]; seen: number }> {
  const seen = new Set<string>();
  const edges = new Map<string, ImportEdge>();
  for (const root of roots) {
    // A module already in the graph brought its whole subgraph with it.
    if (seen.has(root)) continue;
    const info = await denoInfo(root);
    for (const m of info.modules) {
      const from = local(m.specifier);
      if (from === undefined || seen.has(from)) continue;
      seen.add(from);
      for (const dep of m.dependencies ?? []) {
        for (const target of [dep.code?.specifier, dep.type?.specifier]) {
          const to = target && local(target);
          if (to && to !== from) edges.set(`${from}\0${to}`, { from, to });
        }
      }
    }
  }
  return { edges: [...edges.values()], seen: seen.size };
}

if (import.meta.main) {
  const roots = [
    "main.ts",
    "mod.ts",
    ...await tsFiles("bench"),
    ...await tsFiles("testing"),
    ...await tsFiles("lib"),
  ];
  const { edges, seen } = await gather(roots);
  const violations = checkImports(edges);
  if (violations.length === 0) {
    console.log(`check_imports: ${seen} modules, ${edges.length} imports, all in order`);
  } else {
    for (const v of violations) for (const line of formatViolation(v)) console.error(line);
    console.error(`check_imports: ${violations.length} violation(s) in ${seen} modules`);
    Deno.exit(1);
  }
}
