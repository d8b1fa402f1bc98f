/**
 * Issue 12: the Dockerfile, checked against the code, since no machine here can run
 * docker. What an image build would get wrong is checked from the facts it depends on:
 * the Deno it compiles with is the repository's; the build context (.dockerignore) and the
 * build stage's COPY lines hold every local module `main.ts` reaches (dynamic imports
 * included, from `deno info`); the stage runs `deno task compile` and the final stage copies
 * what that writes, nothing else of the build stage; the entry point's arguments are
 * accepted by `run`'s real flag parser; the symlinked nginx.conf, the gor directory and the
 * stop signal are the ones aurproxy uses.
 */

import { deepStrictEqual, strictEqual } from "node:assert";
import { parseFlags, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { parseNginxOptions } from "../../lib/backends/nginx/options.ts";
import { Walker } from "../../lib/config/walker.ts";
import { STOP_SIGNALS } from "../../lib/lifecycle/process_signals.ts";
import { denoTasks, taskRunFlags } from "../../testing/entry_points.ts";
import { compileFlags } from "../../testing/entry_points.ts";

const root = new URL("../../", import.meta.url).pathname;

/** One Dockerfile instruction: its keyword (upper case) and the rest of the line. */
interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** The Dockerfile's stages, each a list of instructions from its FROM on. */
function stages(text: string): Instruction[][] {
  const joined = text.split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n")
    .replace(/\\\n/g, " ");
  const out: Instruction[][] = [];
  for (const line of joined.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const [op, ...rest] = line.split(/\s+/);
    const ins = { op: op.toUpperCase(), args: rest.join(" ") };
    if (ins.op === "FROM") out.push([]);
    out.at(-1)!.push(ins);
  }
  return out;
}

const dockerfile = stages(Deno.readTextFileSync(`${root}Dockerfile`));
const [build, final] = dockerfile;
const all = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op);
const one = (stage: Instruction[], op: string) => {
  const found = all(stage, op);
  strictEqual(found.length, 1, `one ${op} expected, got ${found.length}`);
  return found[0].args;
};
/** An exec-form (JSON array) instruction's words. */
const execForm = (stage: Instruction[], op: string): string[] => JSON.parse(one(stage, op));

Deno.test("image: two stages; the build stage compiles with the repository's Deno (scripts/install-deps.sh's pin)", async () => {
  strictEqual(dockerfile.length, 2);
  const from = /^denoland\/deno:debian-(\S+) AS build$/.exec(one(build, "FROM"));
  strictEqual(from !== null, true, one(build, "FROM"));
  const pinned = /^DENO_VERSION=(\S+)$/m.exec(
    await Deno.readTextFile(`${root}scripts/install-deps.sh`),
  )?.[1];
  strictEqual(from![1], pinned);
  strictEqual(from![1], Deno.version.deno, "the tests run on another Deno than the image");
  deepStrictEqual(all(build, "RUN").map((r) => r.args), ["deno task compile"]);
});

Deno.test("image: the build context and the build stage hold every local module main.ts reaches", async () => {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  strictEqual(info.success, true, new TextDecoder().decode(info.stderr));
  const graph = JSON.parse(new TextDecoder().decode(info.stdout));
  const local: string[] = graph.modules.map((m: { specifier: string }) => m.specifier)
    .filter((s: string) => s.startsWith(`file://${root}`))
    .map((s: string) => s.slice(`file://${root}`.length));
  // deno.json is read by the compile task and imported (the version); deno.lock locks
  // the npm packages the build stage downloads.
  const needed = [...new Set([...local, "deno.json", "deno.lock"])];
  strictEqual(needed.includes("lib/cli/synchronize.ts"), true, "dynamic imports are listed");

  // .dockerignore: everything excluded, then the needed paths let through again.
  const ignore = (await Deno.readTextFile(`${root}.dockerignore`)).split("\n")
    .map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  strictEqual(ignore[0], "*", "this test reads an allow-list .dockerignore only");
  const allowed = ignore.slice(1).map((l) => {
    strictEqual(l.startsWith("!") && !/[*?[]/.test(l), true, `unexpected line ${l}`);
    return l.slice(1);
  });
  // The build stage's COPY sources (from the context, not --from=).
  const copied = all(build, "COPY").flatMap((c) => {
    const words = c.args.split(/\s+/);
    strictEqual(words[0].startsWith("--"), false, c.args);
    return words.slice(0, -1);
  });
  const under = (file: string, paths: readonly string[]) =>
    paths.some((p) => p.endsWith("/") ? file.startsWith(p) : file === p);
  for (const file of needed) {
    strictEqual(under(file, allowed), true, `.dockerignore leaves out ${file}`);
    strictEqual(under(file, copied), true, `the build stage does not copy ${file}`);
  }
  strictEqual(needed.some((f) => f.startsWith("testing/") || f.startsWith("tests/")), false);
});

Deno.test("image: the final stage copies only the compiled executable, built with deno task run's flags", async () => {
  const compile = (await denoTasks()).compile.split(/\s+/);
  strictEqual(compile.slice(0, 2).join(" "), "deno compile");
  const output = compile[compile.indexOf("--output") + 1];
  strictEqual(compile.at(-1), "main.ts");
  deepStrictEqual(await compileFlags(), await taskRunFlags());
  const workdir = one(build, "WORKDIR");
  const copies = all(final, "COPY");
  deepStrictEqual(copies.map((c) => c.args), [
    `--from=build ${workdir}/${output} /usr/local/bin/aurproxy`,
  ]);
  strictEqual(/^nginx:[\d.]+$/.test(one(final, "FROM")), true, one(final, "FROM"));
});

Deno.test("image: the entry point is run --supervise with flags run accepts, on aurproxy's default paths", () => {
  const [binary, command, ...args] = [...execForm(final, "ENTRYPOINT"), ...execForm(final, "CMD")];
  strictEqual(binary, all(final, "COPY")[0].args.split(/\s+/).at(-1));
  strictEqual(command, "run");
  // Throws a UsageError naming the flag if `run` does not know one.
  const flags = parseFlags(args, RUN_FLAGS);
  strictEqual(flags.supervise, true);
  strictEqual(flags.setup, false);
  strictEqual(one(final, "EXPOSE"), flags["management-port"]);
  strictEqual(flags.config, "/etc/aurproxy/config.json");

  const run = all(final, "RUN").map((r) => r.args).join(" && ");
  const conf = parseNginxOptions(new Walker().fields({}, "")!, []).configurationFile;
  strictEqual(run.includes(`ln -s ${conf} /etc/nginx/nginx.conf`), true, run);
  const gorScript = String(RUN_FLAGS["mirror-command-path"].default);
  const gorDir = gorScript.slice(0, gorScript.lastIndexOf("/"));
  const confDir = conf.slice(0, conf.lastIndexOf("/"));
  strictEqual(run.includes(`mkdir -p ${confDir} ${gorDir}`), true, run);

  const stop = one(final, "STOPSIGNAL") as Deno.Signal;
  strictEqual(STOP_SIGNALS.includes(stop), true, `aurproxy does not stop on ${stop}`);
});
