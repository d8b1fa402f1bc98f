/**
 * Where a `deno run --cpu-prof` profile spent its time: the functions with the most self
 * time and the most inclusive time (callees included), idle excluded from the shares, so
 * the figures say what share of aurproxy's busy time a function costs.
 *
 *   deno run -A bench/cpuprofile.ts FILE.cpuprofile [--top=25] [--filter=lib/]
 *
 * bench/discovery (`--profile-dir`) and bench/validate (`--profile-dir`) write profiles.
 *
 * @module
 */

import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self and inclusive microseconds per function (named with its file relative to `root`),
 * and the busy (non-idle) and idle totals.
 */
export function summarize(p: Profile, root = new URL("../", import.meta.url).href) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    const where = f.url.startsWith(root)
      ? f.url.slice(root.length)
      : f.url.replace(/^.*\/npm\/[^/]+\//, "npm:");
    return `${f.functionName || "(anonymous)"} ${where}${where ? `:${f.lineNumber + 1}` : ""}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0, idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName === "(idle)") {
      idle += us;
      continue;
    }
    busy += us;
    const k = name(node);
    self.set(k, (self.get(k) ?? 0) + us);
    // Each function once per sample, however often it recurses.
    const seen = new Set<string>();
    for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
      const kc = name(byId.get(c)!);
      if (seen.has(kc) || kc.startsWith("(root)")) continue;
      seen.add(kc);
      inclusive.set(kc, (inclusive.get(kc) ?? 0) + us);
    }
  }
  return { self, inclusive, busyUs: busy, idleUs: idle };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      top: { type: "string", default: "25" },
      filter: { type: "string", default: "" },
    },
  });
  if (positionals.length !== 1) {
    console.error("usage: deno run -A bench/cpuprofile.ts FILE.cpuprofile [--top=25]");
    Deno.exit(2);
  }
  const s = summarize(JSON.parse(await Deno.readTextFile(positionals[0])));
  const top = Number(values.top);
  const table = (m: Map<string, number>) =>
    [...m].filter(([k]) => k.includes(values.filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([k, us]) =>
        `${(us / 1000).toFixed(0).padStart(8)} ms ${
          (100 * us / s.busyUs).toFixed(1).padStart(5)
        } %  ${k}`
      ).join("\n");
  const total = s.busyUs + s.idleUs;
  console.log(
    `busy ${(s.busyUs / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled (${
      (100 * s.busyUs / total).toFixed(1)
    } %); shares below are of the busy time`,
  );
  console.log(`\nself time:\n${table(s.self)}\n\ninclusive time:\n${table(s.inclusive)}`);
}
