/**
 * `aurproxy run` with self registration as an operator runs it, for the end-to-end tests:
 * a real backend and a real nginx (started on the config `run --setup` wrote, when the
 * test says so), the local AWS and the instance-metadata stand-in reached through the
 * environment variables every AWS SDK reads, and `main.ts` as a subprocess with the
 * permission flags of `deno task run`.
 *
 * @module
 */

import { startBackend, type TestBackend } from "../backend.ts";
import { httpGet, type RawResponse } from "../http.ts";
import { nginxOptions, runNginx, type RunningNginx } from "../nginx.ts";
import { freePort } from "../ports.ts";
import { oneRouteConfig, staticSource } from "../proxy_config.ts";
import {
  type AurproxyProcess,
  type Finished,
  runAurproxy,
  startAurproxy,
} from "../aurproxy_process.ts";
import {
  type MetadataStandIn,
  type MetadataStandInOptions,
  startMetadataStandIn,
} from "./metadata.ts";
import { type AwsStandIn, startAwsStandIn } from "./server.ts";

/** Everything one test runs aurproxy against. */
export interface RunRig extends AsyncDisposable {
  readonly dir: string;
  readonly configPath: string;
  readonly proxyPort: number;
  readonly mgmtPort: number;
  readonly backend: TestBackend;
  readonly aws: AwsStandIn;
  readonly metadata: MetadataStandIn;
  /** The environment of aurproxy: the stand-ins' endpoints, keys and region. */
  env: Record<string, string>;
  /** `aurproxy run --setup` with the common flags and `flags`. */
  setup(flags: readonly string[]): Promise<Finished>;
  /** `aurproxy run` with the common flags and `flags`; resolves once its port listens. */
  run(flags: readonly string[]): Promise<AurproxyProcess>;
  /** Starts nginx on the config `setup` wrote; resolves once it listens. */
  startNginx(): Promise<RunningNginx>;
  /** A GET (or `method`) to the management port, on a fresh connection. */
  mgmt(path: string, method?: string): Promise<RawResponse>;
  /** A GET through nginx. */
  proxy(path?: string): Promise<RawResponse>;
  /** `/metrics.json` of the running aurproxy. */
  metrics(): Promise<Record<string, number>>;
}

/**
 * @example
 * ```ts
 * await using rig = await startRunRig({ instanceId: "i-0abc" });
 * await rig.setup(flags);
 * await rig.startNginx();
 * const p = await rig.run(flags);
 * ```
 */
export async function startRunRig(metadata: MetadataStandInOptions = {}): Promise<RunRig> {
  const backend = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-register-run-" });
  const proxyPort = freePort();
  const mgmtPort = freePort();
  const configPath = `${dir}/config.json`;
  await Deno.writeTextFile(
    configPath,
    JSON.stringify(oneRouteConfig({
      dir,
      port: proxyPort,
      defaultServer: true,
      sources: [staticSource("web", backend.port)],
    })),
  );
  const aws = startAwsStandIn();
  const md = startMetadataStandIn(metadata);
  const procs: AurproxyProcess[] = [];
  const nginxes: RunningNginx[] = [];
  const common = [
    `--management-port=${mgmtPort}`,
    "--management-host=127.0.0.1",
    `--config=${configPath}`,
  ];
  const rig: RunRig = {
    dir,
    configPath,
    proxyPort,
    mgmtPort,
    backend,
    aws,
    metadata: md,
    env: { ...aws.env(), AWS_EC2_METADATA_SERVICE_ENDPOINT: md.url },
    setup: (flags) => runAurproxy(["run", "--setup", ...common, ...flags], { env: rig.env }),
    async run(flags) {
      const p = await startAurproxy(mgmtPort, [
        `--config=${configPath}`,
        // Quick retries of a failed apply (nginx not running yet), no throttle, every step.
        "--update-period=0.2",
        "--max-update-frequency=0",
        "--log-level=debug",
        ...flags,
      ], { env: rig.env, startTimeoutMs: 30_000 });
      procs.push(p);
      return p;
    },
    async startNginx() {
      const n = await runNginx(nginxOptions(dir), [proxyPort]);
      nginxes.push(n);
      return n;
    },
    mgmt: (path, method) => httpGet(mgmtPort, path, method ? { method } : {}),
    proxy: (path = "/") => httpGet(proxyPort, path),
    async metrics() {
      return JSON.parse((await httpGet(mgmtPort, "/metrics.json")).body);
    },
    async [Symbol.asyncDispose]() {
      for (const p of procs) await p.stop();
      for (const n of nginxes) await n.stop();
      await md.close();
      await aws.close();
      await backend.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return rig;
}
