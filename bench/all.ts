/**
 * Runs the benchmarks (all, or those named):
 * `deno task bench [proxy] [reload] [discovery] [validate] [healthcheck] [haproxy]`. Each prints its
 * table and writes bench/results/<name>.json (see bench/README.md). Loopback only, bounded
 * in time. Flags (`--x=y`) are passed to every benchmark named.
 *
 * @module
 */

const ALL = ["proxy", "reload", "discovery", "validate", "healthcheck", "haproxy"];
const names = Deno.args.filter((a) => !a.startsWith("--"));
const flags = Deno.args.filter((a) => a.startsWith("--"));
const unknown = names.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ALL.join(", ")}`);
  Deno.exit(2);
}
let failed = 0;
for (const name of names.length ? names : ALL) {
  console.log(`\n### bench/${name}.ts`);
  const st = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(`./${name}.ts`, import.meta.url).pathname, ...flags],
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (!st.success) failed++;
}
Deno.exit(failed ? 1 : 0);
