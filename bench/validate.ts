/**
 * `aurproxy validate` on a large config, against `nginx -t` on the same rendered nginx
 * config measured in the same run (the baseline: validate runs nginx -t itself, so it can
 * never be faster; the target is at most 3 x).
 *
 * The config: `--servers` (default 20,000) servers, each with a server name of its own
 * and one route served by one static source, spread over `--ports` (default 1,000) ports.
 * A port per server needs that many descriptors for `nginx -t` (it opens every listening
 * socket): `--ports=20000` only where `ulimit -n` allows it. Timed, spawn to exit, each `--rounds`
 * times (median reported): `aurproxy validate`, `aurproxy validate --skip-nginx-test` (the
 * JSON config check alone), `aurproxy render` (the config read and rendered, no nginx),
 * and `nginx -t` on the file `render` printed (which differs from what validate tests only
 * in the endpoint lines).
 *
 *   deno run -A bench/validate.ts [--servers=20000] [--ports=1000] [--rounds=1]
 *     [--profile-dir=DIR]   (one more `validate` with --cpu-prof into DIR)
 *     [--tag=NAME]          (results in bench/results/validate-NAME.json)
 *
 * @module
 */

import { bigConfig } from "../testing/big_config.ts";
import { parseArgs } from "node:util";
import { nginxKeys } from "../testing/aurproxy_stack.ts";
import { percentile, report } from "./lib.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string", default: "20000" },
    ports: { type: "string", default: "1000" },
    rounds: { type: "string", default: "1" },
    "profile-dir": { type: "string", default: "" },
    tag: { type: "string", default: "" },
  },
});
const servers = Number(values.servers);
const ports = Math.min(servers, Number(values.ports));
const rounds = Number(values.rounds);
const MAIN = new URL("../main.ts", import.meta.url).pathname;

interface Run {
  readonly ms: number;
  readonly ok: boolean;
  /** Highest VmHWM seen while it ran (peak RSS so far), MB. */
  readonly peakRssMb: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, timing it spawn to exit and sampling its peak RSS. */
async function timed(cmd: string, args: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let peak = 0;
  const sample = () => {
    try {
      const s = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024);
    } catch {
      // Exited.
    }
  };
  const timer = setInterval(sample, 50);
  const out = await child.output();
  const ms = performance.now() - t0;
  clearInterval(timer);
  const dec = new TextDecoder();
  return {
    ms,
    ok: out.success,
    peakRssMb: peak,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const aurproxy = (args: string[], deno: string[] = []) =>
  timed(Deno.execPath(), ["run", "--allow-all", ...deno, MAIN, ...args]);

function must(what: string, r: Run): Run {
  if (!r.ok) throw new Error(`${what} failed:\n${r.stderr || r.stdout}`);
  return r;
}

const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-validate-" });
try {
  await Deno.mkdir(`${dir}/temp`, { recursive: true });
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify(
      bigConfig(servers, { portCount: ports, basePort: 10000, top: nginxKeys(dir) }),
    ),
  );
  const rendered = `${dir}/rendered.conf`;
  const runs = {
    validate: [] as Run[],
    skip: [] as Run[],
    render: [] as Run[],
    nginx: [] as Run[],
  };
  for (let r = 0; r < rounds; r++) {
    // nginx -t first in odd rounds, last in even ones: neither always gets a warm cache.
    const render = must("aurproxy render", await aurproxy(["render", `--config=${configPath}`]));
    await Deno.writeTextFile(rendered, render.stdout);
    runs.render.push(render);
    const nginxT = () => timed("nginx", ["-t", "-q", "-p", dir, "-c", rendered]);
    if (r % 2 === 0) runs.nginx.push(must("nginx -t", await nginxT()));
    runs.validate.push(
      must("aurproxy validate", await aurproxy(["validate", `--config=${configPath}`])),
    );
    runs.skip.push(
      must(
        "validate --skip-nginx-test",
        await aurproxy(["validate", "--skip-nginx-test", `--config=${configPath}`]),
      ),
    );
    if (r % 2 === 1) runs.nginx.push(must("nginx -t", await nginxT()));
    console.error(
      `  round ${r + 1}: validate ${runs.validate.at(-1)!.ms.toFixed(0)} ms, nginx -t ${
        runs.nginx.at(-1)!.ms.toFixed(0)
      } ms, --skip-nginx-test ${runs.skip.at(-1)!.ms.toFixed(0)} ms, render ${
        runs.render.at(-1)!.ms.toFixed(0)
      } ms`,
    );
  }
  if (values["profile-dir"]) {
    await aurproxy(["validate", `--config=${configPath}`], [
      "--cpu-prof",
      `--cpu-prof-dir=${values["profile-dir"]}`,
    ]);
    console.error(`  profile of one validate written to ${values["profile-dir"]}`);
  }
  const med = (rs: Run[]) => percentile(rs.map((r) => r.ms), 50);
  const peak = (rs: Run[]) => Math.max(...rs.map((r) => r.peakRssMb));
  const lines = (await Deno.readTextFile(rendered)).split("\n").length;
  await report(values.tag ? `validate-${values.tag}` : "validate", [
    {
      metric: `aurproxy validate, ${servers} servers on ${ports} ports, spawn to exit`,
      value: med(runs.validate),
      baseline: med(runs.nginx),
      unit: "ms",
      target: "<= 3x nginx -t",
    },
    { metric: "nginx -t on the rendered config", value: med(runs.nginx), unit: "ms" },
    {
      metric: "aurproxy validate --skip-nginx-test (JSON config check only)",
      value: med(runs.skip),
      baseline: med(runs.nginx),
      unit: "ms",
    },
    {
      metric: "aurproxy render (config read and rendered, no nginx)",
      value: med(runs.render),
      baseline: med(runs.nginx),
      unit: "ms",
    },
    {
      metric: "peak RSS: validate (aurproxy) / nginx -t",
      value: `${peak(runs.validate).toFixed(0)} / ${peak(runs.nginx).toFixed(0)}`,
      unit: "MB",
    },
    { metric: "rendered nginx.conf lines", value: lines },
  ], {
    servers,
    ports,
    rounds,
    ms: Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, rs.map((r) => r.ms)])),
  });
} finally {
  await Deno.remove(dir, { recursive: true });
}
