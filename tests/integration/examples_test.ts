/**
 * Issue 12: the deployment examples cannot rot. The Aurora job files are Python; they are
 * evaluated with python3 (stand-ins for Aurora's DSL record what each job would run), and
 * then: the aurproxy config they embed passes the real `aurproxy validate` (nginx -t
 * included), every aurproxy command line is one `run`'s real flag parser accepts, nginx runs
 * on the file aurproxy writes, the three processes are ordered as the original's; the
 * backend job really serves "Hello World!" and /health. The systemd unit and the docker run
 * line are checked against the code's own bounds (stop signal, nginx's graceful stop,
 * descriptors) and against the image.
 */

import { deepStrictEqual, strictEqual } from "node:assert";
import { parseFlags, RUN_FLAGS } from "../../lib/cli/flags.ts";
import { renderNginx } from "../../lib/backends/nginx/render.ts";
import { STOP_SIGNALS } from "../../lib/lifecycle/process_signals.ts";
import type { ProxySnapshot } from "../../lib/model/snapshot.ts";
import { DEFAULT_DEREGISTER_TIMEOUT_MS } from "../../lib/register/self_registration.ts";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { BUNDLE_COMMAND } from "../../testing/entry_points.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitForPort } from "../../testing/ports.ts";

const root = new URL("../../", import.meta.url).pathname;
const examples = `${root}examples/`;

/** A process as an Aurora job file declares it, its cmdline split as a shell would. */
interface AurProcess {
  readonly name: string;
  readonly cmdline: string;
  readonly argv: string[];
}

/** What the tests read of a job. */
interface AurJob {
  readonly name: string;
  readonly role: string;
  readonly environment: string;
  readonly processes: AurProcess[];
  /** Each `order(a, b, ...)` constraint, as process names. */
  readonly order: string[][];
  readonly raw: Record<string, unknown>;
}

// Stand-ins for the Aurora DSL names the example files use: each records its arguments.
// `{{thermos.ports[NAME]}}` is replaced by the port given for NAME, as Thermos does.
const EVALUATE = `
import json, shlex, sys
path, ports = sys.argv[1], json.loads(sys.argv[2])
def struct(kind):
  return lambda **kw: dict(kw, _kind=kind)
env = {n: struct(n) for n in ['Process', 'Task', 'SequentialTask', 'Resources', 'Service',
  'HealthCheckConfig', 'LifecycleConfig', 'HttpLifecycleConfig', 'Announcer', 'Mesos',
  'DockerImage']}
env.update(MB=2**20, GB=2**30, order=lambda *ps: [{'order': [p['name'] for p in ps]}])
exec(compile(open(path).read(), path, 'exec'), env)
def bind(s):
  for name, port in ports.items():
    s = s.replace('{{thermos.ports[%s]}}' % name, str(port))
  return s
out = []
for job in env['jobs']:
  task = job['task']
  procs = [dict(name=p['name'], cmdline=bind(p['cmdline']), argv=shlex.split(bind(p['cmdline'])))
           for p in task['processes']]
  order = [c['order'] for c in task.get('constraints', [])]
  out.append(dict(name=job['name'], role=job['role'], environment=job['environment'],
                  processes=procs, order=order, raw=job))
print(json.dumps(out))
`;

async function aurJobs(file: string, ports: Record<string, number>): Promise<AurJob[]> {
  const out = await new Deno.Command("python3", {
    args: ["-c", EVALUATE, `${examples}${file}`, JSON.stringify(ports)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${file}: ${dec.decode(out.stderr)}`);
  return JSON.parse(dec.decode(out.stdout));
}

/** The executable's path in the image, from the Dockerfile's COPY into the final stage. */
async function imageExecutable(): Promise<string> {
  const dockerfile = await Deno.readTextFile(`${root}Dockerfile`);
  const copy = /^COPY --from=build \S+ (\S+)$/m.exec(dockerfile);
  if (!copy) throw new Error("no COPY --from=build in the Dockerfile");
  return copy[1];
}

/** The process-level defaults of the nginx.conf aurproxy renders. */
function nginxDefaults(): { workerShutdownSeconds: number; workerNofile: number } {
  const snapshot: ProxySnapshot = {
    context: {},
    servers: [],
    builtAt: 0,
    adjustmentDelayed: false,
  };
  const conf = renderNginx(snapshot, { pidPath: "/var/run/nginx.pid" });
  const shutdown = /^worker_shutdown_timeout (\d+)s;$/m.exec(conf);
  const nofile = /^worker_rlimit_nofile (\d+);$/m.exec(conf);
  if (!shutdown || !nofile) throw new Error(`unexpected defaults in:\n${conf}`);
  return { workerShutdownSeconds: Number(shutdown[1]), workerNofile: Number(nofile[1]) };
}

Deno.test("examples: aurproxy_hello_world.aur's config passes aurproxy validate; its command lines are run's, nginx on aurproxy's file, ordered as the original", async () => {
  const jobs = await aurJobs("aurproxy_hello_world.aur", { health: 31325 });
  deepStrictEqual(jobs.map((j) => j.name), ["aurproxy", "aurproxy_3proc"]);
  const executable = await imageExecutable();
  const text = await Deno.readTextFile(`${examples}aurproxy_hello_world.aur`);
  const bundlePrefix = BUNDLE_COMMAND.slice(0, BUNDLE_COMMAND.lastIndexOf(" ") + 1);
  strictEqual(text.includes(`'${bundlePrefix}`), true, `the bundle command is ${BUNDLE_COMMAND}`);

  const configs = new Set<string>();
  const runs: Record<string, ReturnType<typeof parseFlags>> = {};
  for (const job of jobs) {
    for (const p of job.processes) {
      if (p.name === "nginx") continue;
      strictEqual(p.argv[0], executable, p.cmdline);
      strictEqual(p.argv[1], "run", p.cmdline);
      // Throws a UsageError naming the flag if `run` does not accept one.
      const flags = parseFlags(p.argv.slice(2), RUN_FLAGS);
      strictEqual(flags["management-port"], "31325");
      configs.add(String(flags.config));
      runs[`${job.name}/${p.name}`] = flags;
    }
  }
  strictEqual(configs.size, 1, "every process runs the same config");
  const [config] = configs;
  strictEqual(runs["aurproxy/aurproxy"].supervise, true);
  strictEqual(runs["aurproxy_3proc/aurproxy_setup"].setup, true);
  strictEqual(runs["aurproxy_3proc/aurproxy"].setup, false);
  strictEqual(runs["aurproxy_3proc/aurproxy"].supervise, false);

  const three = jobs[1];
  deepStrictEqual(three.processes.map((p) => p.name), ["aurproxy_setup", "nginx", "aurproxy"]);
  deepStrictEqual(three.order, [["aurproxy_setup", "nginx"], ["aurproxy_setup", "aurproxy"]]);
  const nginx = three.processes[1].argv;
  deepStrictEqual(nginx, ["nginx", "-c", JSON.parse(config).configuration_file]);

  const validate = await runAurproxy(["validate", `--config=${config}`]);
  strictEqual(validate.code, 0, validate.stderr);
  strictEqual(validate.stdout.includes("nginx -t: rendered config OK"), true, validate.stdout);
});

Deno.test("examples: hello_world.aur serves Hello World! and /health on its port, as the job aurproxy_hello_world.aur proxies", async () => {
  const port = freePort();
  const [job] = await aurJobs("hello_world.aur", { http: port });
  // The config of the three-process form's `run --setup` (the same in every process).
  const setup = (await aurJobs("aurproxy_hello_world.aur", { health: 1 }))[1].processes[0];
  const source = JSON.parse(String(parseFlags(setup.argv.slice(2), RUN_FLAGS).config))
    .servers[0].routes[0].sources[0];
  deepStrictEqual(
    [source.role, source.environment, source.job, source.endpoint],
    [job.role, job.environment, job.name, "http"],
  );
  strictEqual((job.raw.announce as { _kind: string })._kind, "Announcer");

  // The task's processes in order, in a sandbox of their own, as Thermos runs them.
  const sandbox = await Deno.makeTempDir({ prefix: "aurproxy-hello-" });
  const [site, serve] = job.processes;
  let server: Deno.ChildProcess | undefined;
  try {
    const made = await new Deno.Command("bash", { args: ["-c", site.cmdline], cwd: sandbox })
      .output();
    strictEqual(made.success, true);
    server = new Deno.Command("bash", {
      args: ["-c", serve.cmdline],
      cwd: sandbox,
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(port);
    const hello = await httpGet(port, "/");
    strictEqual(hello.status, 200);
    strictEqual(hello.body, "Hello World!\n");
    strictEqual((await httpGet(port, source.share_adjusters[0].route)).status, 200);
  } finally {
    server?.kill("SIGTERM");
    await server?.status;
    await Deno.remove(sandbox, { recursive: true });
  }
});

/** The `[Service]` settings of the systemd unit. */
async function unitSettings(): Promise<Record<string, string>> {
  const text = await Deno.readTextFile(`${examples}systemd/aurproxy.service`);
  const service = text.split(/^\[Service\]$/m)[1].split(/^\[/m)[0];
  return Object.fromEntries(
    service.split("\n").filter((l) => /^\w+=/.test(l)).map((l) => {
      const eq = l.indexOf("=");
      return [l.slice(0, eq), l.slice(eq + 1)];
    }),
  );
}

Deno.test("examples: the systemd unit runs run --supervise as the image does, signals aurproxy alone and outlasts its graceful stop", async () => {
  const unit = await unitSettings();
  const [binary, command, ...args] = unit.ExecStart.split(" ");
  strictEqual(binary, await imageExecutable());
  strictEqual(command, "run");
  const flags = parseFlags(args, RUN_FLAGS);
  strictEqual(flags.supervise, true);
  strictEqual(unit.Type, "exec");
  strictEqual(STOP_SIGNALS.includes(unit.KillSignal as Deno.Signal), true, unit.KillSignal);
  // Only aurproxy gets the signal: it stops nginx itself, gracefully, after deregistering.
  strictEqual(unit.KillMode, "mixed");
  const nginx = nginxDefaults();
  const needed = DEFAULT_DEREGISTER_TIMEOUT_MS / 1000 + nginx.workerShutdownSeconds;
  strictEqual(Number(unit.TimeoutStopSec) > needed, true, `${unit.TimeoutStopSec} <= ${needed}`);
  strictEqual(Number(unit.LimitNOFILE) >= nginx.workerNofile, true, unit.LimitNOFILE);
  strictEqual(unit.ExecReload, "/bin/kill -HUP $MAINPID");
  strictEqual(unit.Restart, "always");
});

/** The `docker run` command of a Markdown file, its continuation lines joined. */
function dockerRunLine(markdown: string): string | undefined {
  return /^docker run -d .*\\\n.*$/m.exec(markdown)?.[0].replace(/\s*\\\n\s*/, " ");
}

Deno.test("examples: the docker run line mounts the config where the image reads it and outlasts the graceful stop", async () => {
  const line = dockerRunLine(await Deno.readTextFile(`${examples}README.md`));
  strictEqual(line !== undefined, true, "no docker run line in examples/README.md");
  strictEqual(
    dockerRunLine(await Deno.readTextFile(`${root}docs/operations.md`)),
    line,
    "docs/operations.md gives another docker run line",
  );
  const words = line!.split(/\s+/);
  const dockerfile = await Deno.readTextFile(`${root}Dockerfile`);
  const cmd: string[] = JSON.parse(/^CMD (.*)$/m.exec(dockerfile)![1]);
  const configPath = cmd.find((a) => a.startsWith("--config="))!.slice("--config=".length);
  const volume = words[words.indexOf("-v") + 1].split(":");
  strictEqual(volume[1], configPath);
  strictEqual(words.includes("--init"), true);
  const stop = Number(words.find((w) => w.startsWith("--stop-timeout="))?.split("=")[1]);
  const nginx = nginxDefaults();
  strictEqual(stop > DEFAULT_DEREGISTER_TIMEOUT_MS / 1000 + nginx.workerShutdownSeconds, true);
});
