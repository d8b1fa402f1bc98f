/**
 * The operator docs link to each other by file and heading (`docs/operations.md#haproxy`). A
 * renamed heading or moved file silently breaks those links on GitHub; this test follows every
 * relative link of the Markdown docs and fails on a missing file or anchor.
 */

import { deepStrictEqual, strictEqual } from "node:assert";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const DOCS = [
  "README.md",
  "docs/configuration.md",
  "docs/operations.md",
  "docs/design.md",
  "docs/development.md",
  "bench/README.md",
  "examples/README.md",
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** Anchors of a Markdown text, with GitHub's `-1`, `-2` suffixes for repeated headings. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = !fenced && line.match(/^#{1,6}\s+(.*)$/);
    if (!m) continue;
    const slug = githubSlug(m[1]);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** `[text](target)` links outside code, relative ones only. */
function links(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1])
    .filter((t) => !/^[a-z]+:/.test(t));
}

Deno.test("docs: GitHub's heading slug drops punctuation and keeps hyphens", () => {
  strictEqual(
    githubSlug("aurproxy running nginx (`run --supervise`)"),
    "aurproxy-running-nginx-run---supervise",
  );
  strictEqual(
    githubSlug("Sentry (`--sentry-dsn`, every command)"),
    "sentry---sentry-dsn-every-command",
  );
});

Deno.test("docs: every relative link of the Markdown docs reaches a file and heading", async () => {
  const broken: string[] = [];
  for (const doc of DOCS) {
    const text = await Deno.readTextFile(join(ROOT, doc));
    for (const link of links(text)) {
      const [path, anchor] = link.split("#");
      const target = path === "" ? join(ROOT, doc) : join(ROOT, dirname(doc), path);
      let targetText: string | undefined;
      try {
        const stat = await Deno.stat(target);
        if (stat.isFile && target.endsWith(".md")) targetText = await Deno.readTextFile(target);
      } catch {
        broken.push(`${doc}: ${link} (no file ${relative(ROOT, target)})`);
        continue;
      }
      if (anchor && targetText !== undefined && !anchors(targetText).has(anchor)) {
        broken.push(`${doc}: ${link} (no heading #${anchor})`);
      }
    }
  }
  deepStrictEqual(broken, []);
});
