/**
 * The ways the docs tell people to start aurproxy, as command prefixes tests run with the
 * exact flags the docs and `deno.json` give: `deno task run`, the bundle
 * (`deno run -A --v8-flags=--max-semi-space-size=2 dist/aurproxy.js`, bundled into a temp dir as `deno task bundle` does) and
 * the flag set of `deno task compile` (applied to `deno run`: compiling needs Deno's
 * `denort` download, which a test machine may not reach; the flags are baked into the
 * executable unchanged).
 *
 * @module
 */

const root = new URL("../", import.meta.url).pathname;

/** A way to start aurproxy: the command before aurproxy's own arguments, and where. */
export interface EntryPoint {
  readonly name: string;
  readonly argv: readonly string[];
  readonly cwd: string;
}

/** The task command lines of `deno.json`, by task name. */
export async function denoTasks(): Promise<Record<string, string>> {
  const json = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  return json.tasks as Record<string, string>;
}

/** Splits a task's command line at spaces (the tasks here quote nothing). */
function words(command: string): string[] {
  return command.split(/\s+/).filter(Boolean);
}

/**
 * The permission flags of `deno task run` (the words between `run` and `main.ts`), so a
 * test runs main.ts with exactly what the documented entry point grants.
 */
export async function taskRunFlags(): Promise<string[]> {
  const w = words((await denoTasks()).run);
  return w.slice(w.indexOf("run") + 1, w.indexOf("main.ts"));
}

let bundled: Promise<string> | undefined;

/** Runs the `bundle` task's command with its output in a temp dir (once per test run). */
export function bundle(): Promise<string> {
  return bundled ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "aurproxy-bundle-" });
    // Shared by every test of the run: removed when the run ends.
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const args = words((await denoTasks()).bundle).slice(1);
    const out = args.indexOf("--output");
    if (args[0] !== "bundle" || out < 0) throw new Error(`unexpected bundle task: ${args}`);
    args[out + 1] = `${dir}/aurproxy.js`;
    const r = await new Deno.Command(Deno.execPath(), {
      args: [args[0], "--quiet", ...args.slice(1)],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!r.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(r.stderr)}`);
    return `${dir}/aurproxy.js`;
  })();
}

/** The permission flags of the `compile` task (what the executable is built with). */
export async function compileFlags(): Promise<string[]> {
  const args = words((await denoTasks()).compile).slice(2);
  const flags: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--output") i++;
    else if (args[i].startsWith("-") && !args[i].startsWith("--output=")) flags.push(args[i]);
  }
  return flags;
}

/** The command the README gives for the bundle. */
export const BUNDLE_COMMAND = "deno run -A --v8-flags=--max-semi-space-size=2 dist/aurproxy.js";

/** Every documented entry point. */
export async function entryPoints(): Promise<EntryPoint[]> {
  const deno = Deno.execPath();
  return [
    { name: "deno task run", argv: [deno, "task", "--quiet", "run"], cwd: root },
    {
      name: `the bundle, ${BUNDLE_COMMAND}`,
      argv: [deno, ...words(BUNDLE_COMMAND).slice(1, -1), await bundle()],
      cwd: "/tmp",
    },
    {
      name: "deno task compile's flags on deno run main.ts",
      argv: [deno, "run", ...await compileFlags(), `${root}main.ts`],
      cwd: root,
    },
  ];
}
