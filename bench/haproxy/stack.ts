/**
 * What every case of bench/haproxy.ts needs: aurproxy running one backend kind (nginx or
 * HAProxy, `run --supervise`, so the proxy is aurproxy's child either way) on a route of
 * the given sources, its reload count, and pools of backends: many ports of one nginx
 * answering 200 "ok" (cheap enough to leave the CPU to the proxies), or small servers
 * answering their own name (to see who served a request).
 *
 * @module
 */

import { MasterCli } from "../../lib/backends/haproxy/master_cli.ts";
import { RuntimeApi } from "../../lib/backends/haproxy/runtime_api.ts";
import { nginxKeys } from "../../testing/aurproxy_stack.ts";
import { type AurproxyProcess, startAurproxy } from "../../testing/aurproxy_process.ts";
import { runNginx } from "../../testing/nginx.ts";
import { freePort, waitForPort } from "../../testing/ports.ts";

/** The backend kinds compared. */
export type Kind = "nginx" | "haproxy";
/** Both kinds, in the order each case runs them. */
export const KINDS: readonly Kind[] = ["nginx", "haproxy"];

/** A running aurproxy with its proxy. */
export interface ProxyStack {
  readonly kind: Kind;
  readonly port: number;
  readonly dir: string;
  readonly proc: AurproxyProcess;
  /** Reloads aurproxy confirmed so far (its `reloads` counter). */
  reloads(): Promise<number>;
  /** HAProxy's sockets (kind haproxy). */
  readonly haproxy?: { readonly api: RuntimeApi; readonly master: MasterCli };
  stop(): Promise<void>;
}

/** How {@linkcode startProxy} runs aurproxy. */
export interface StackOptions {
  /** `aurproxy run` flags besides the config and management ones. */
  readonly flags?: readonly string[];
  /** Top-level config keys added (e.g. `haproxy_free_slots`). */
  readonly top?: Record<string, unknown>;
  /** Top-level `context` keys (e.g. `access_log: "off"`). */
  readonly context?: Record<string, unknown>;
}

/** Starts `aurproxy run --supervise` with `backend: kind` and one route `/` of `sources`. */
export async function startProxy(
  kind: Kind,
  sources: readonly unknown[],
  o: StackOptions = {},
): Promise<ProxyStack> {
  const dir = await Deno.makeTempDir({ prefix: `aurproxy-bench-${kind}-` });
  const port = freePort();
  const mgmt = freePort();
  const files = kind === "nginx"
    ? { ...nginxKeys(dir), context: { worker_connections: 8192, ...o.context } }
    : { configuration_file: `${dir}/haproxy.cfg`, ...(o.context ? { context: o.context } : {}) };
  const config = {
    backend: kind,
    ...files,
    ...o.top,
    servers: [{ ports: [port], routes: [{ locations: ["/"], sources }] }],
  };
  if (kind === "nginx") await Deno.mkdir(`${dir}/conf`, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config, null, 2));
  let proc: AurproxyProcess;
  try {
    // The proxy's access log (both backends: to stdout by default) goes to /dev/null, as
    // a container's output goes to a log driver outside the proxy: what it costs here is
    // the proxy's own formatting and writes, not this process keeping every line.
    proc = await startAurproxy(mgmt, [
      `--config=${dir}/config.json`,
      "--supervise",
      "--log-level=warn",
      ...(o.flags ?? []),
    ], { startTimeoutMs: 30_000, discardStdout: true });
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  try {
    await waitForPort(port, 20_000);
  } catch (e) {
    await proc.stop();
    throw new Error(`${(e as Error).message}\n${proc.log()}`);
  }
  const haproxy = kind === "haproxy"
    ? {
      api: new RuntimeApi({ socketPath: `${dir}/haproxy-stats.sock` }),
      master: new MasterCli({ socketPath: `${dir}/haproxy-master.sock` }),
    }
    : undefined;
  return {
    kind,
    port,
    dir,
    proc,
    haproxy,
    reloads: async () => {
      const m = await proc.metrics();
      return m["aurproxy.reloads"] ?? m["aurproxy.reloads_total"] ?? 0;
    },
    stop: async () => {
      await proc.quit(10_000).catch(() => {});
      await proc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** One nginx answering 200 "ok" on every port of `ports` (the shared backend pool). */
export async function okBackends(count: number) {
  // Held open until all are chosen: one at a time, the kernel hands out a port twice.
  const held = Array.from({ length: count }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = held.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of held) l.close();
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-backends-" });
  await Deno.mkdir(`${dir}/temp`);
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `${t}_temp_path ${dir}/temp/${t};`).join(" ");
  const servers = ports.map((p) =>
    `server { listen 127.0.0.1:${p}; location / { return 200 "ok"; } }`
  ).join("\n");
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(
    conf,
    `daemon off;\nworker_processes 1;\npid ${dir}/nginx.pid;\nerror_log stderr error;
events { worker_connections 8192; }
http { ${temp} access_log off; keepalive_requests 100000;\n${servers}\n}\n`,
  );
  const proc = await runNginx(
    { configurationFile: conf, pidPath: `${dir}/nginx.pid`, binary: "nginx", prefix: dir },
    ports,
  );
  return {
    ports,
    pid: proc.pid,
    stop: async () => {
      await proc.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** An aurora source of `job` (role `bench`, env `prod`) on ZooKeeper `zk`. */
export function auroraSource(zk: string, job: string, shareAdjusters?: unknown[]) {
  return {
    source_class: "tellapart.aurproxy.source.AuroraProxySource",
    zk_servers: zk,
    role: "bench",
    environment: "prod",
    job,
    ...(shareAdjusters ? { share_adjusters: shareAdjusters } : {}),
  };
}
