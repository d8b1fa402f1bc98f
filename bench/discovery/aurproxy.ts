/**
 * The pieces every discovery case needs: aurproxy run as an operator runs it (separate
 * `run --setup`, nginx and `aurproxy run` processes, through testing/aurproxy_stack.ts),
 * backends that answer their name, and a ZooKeeper writer playing Aurora's executor.
 *
 * @module
 */

import { serverSetMemberJson } from "../../lib/zk/announcer.ts";
import { zk as zkClient } from "../../lib/zk/client.ts";
import { nginxKeys, startStack } from "../../testing/aurproxy_stack.ts";
import { freePort } from "../../testing/ports.ts";
import type { TestAnnouncer, TestZooKeeper } from "../../testing/zookeeper.ts";
import { parseTrace, type TraceEvent } from "./trace.ts";

/** A running aurproxy with its nginx. */
export interface Aurproxy {
  readonly dir: string;
  readonly proxyPort: number;
  readonly pid: number;
  /** How long `run --setup` took, spawn to exit: start to the first config written. */
  readonly setupMs: number;
  /** Step timestamps aurproxy logged (with `--log-level=debug`), in order. */
  readonly trace: readonly TraceEvent[];
  /** The live nginx.conf. */
  readonly configFile: string;
  metrics(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** One route of the generated config: a location served by one Aurora job. */
export interface JobRoute {
  readonly location: string;
  readonly role: string;
  readonly job: string;
}

export interface AurproxyOptions {
  /** `aurproxy run` flags (the log level defaults to warn). */
  readonly flags?: readonly string[];
  /** Deno flags for the aurproxy process (e.g. `--cpu-prof`). */
  readonly denoFlags?: readonly string[];
  /** Top-level context of the generated nginx config. */
  readonly context?: Record<string, unknown>;
}

/** Starts `run --setup`, nginx, then `aurproxy run` for `routes`. */
export async function startAurproxy(
  zk: TestZooKeeper,
  routes: readonly JobRoute[],
  o: AurproxyOptions = {},
): Promise<Aurproxy> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-bench-" });
  const proxyPort = freePort();
  const trace: TraceEvent[] = [];
  const flags = o.flags ?? [];
  const stack = await startStack({
    dir,
    proxyPorts: [proxyPort],
    flags: [
      ...(flags.some((f) => f.startsWith("--log-level")) ? [] : ["--log-level=warn"]),
      ...flags,
    ],
    denoFlags: o.denoFlags ?? [],
    onLogLine: (line) => {
      const e = parseTrace(line);
      if (e) trace.push(e);
      else if (/ (WARN|ERROR) /.test(line)) console.error(`  aurproxy: ${line}`);
    },
    config: {
      backend: "nginx",
      ...nginxKeys(dir),
      context: { worker_connections: 8192, ...o.context },
      servers: [{
        ports: [proxyPort],
        routes: routes.map((r) => ({
          locations: [r.location],
          sources: [{
            source_class: "tellapart.aurproxy.source.AuroraProxySource",
            zk_servers: zk.connectString,
            role: r.role,
            environment: "prod",
            job: r.job,
          }],
        })),
      }],
    },
  });
  return {
    dir,
    proxyPort,
    pid: stack.pid,
    setupMs: stack.setupMs,
    trace,
    configFile: nginxKeys(dir).configuration_file,
    metrics: stack.metrics,
    stop: async () => {
      await stack.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A backend on a free port answering its name. */
export function backend(name: string) {
  const port = freePort();
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, signal: ac.signal, onListen: () => {} },
    () => new Response(name),
  );
  return { name, port, close: async () => (ac.abort(), await server.finished) };
}

/** Path of a job in Aurora's registry layout. */
export function jobPath(role: string, job: string): string {
  return `/aurora/${role}/prod/${job}`;
}

/** Writes members as Aurora's executor would; one create or remove is one ZooKeeper call. */
export interface Registry {
  /** Creates the job's path (once, before timing anything). */
  prepare(path: string): Promise<void>;
  /** One `member_` znode (sequential; ephemeral unless `persistent`); returns its path. */
  add(path: string, port: number, persistent?: boolean): Promise<string>;
  remove(member: string): Promise<void>;
  close(): Promise<void>;
}

/** A registry writer on its own session. */
export async function registry(zk: TestZooKeeper): Promise<Registry> {
  const a: TestAnnouncer = await zk.announcer();
  return {
    prepare: async (path) => void await a.session.mkdirp(path),
    add: (path, port, persistent) =>
      a.session.create(
        `${path}/member_`,
        serverSetMemberJson({ host: "127.0.0.1", port }),
        persistent
          ? zkClient.CreateMode.PERSISTENT_SEQUENTIAL
          : zkClient.CreateMode.EPHEMERAL_SEQUENTIAL,
      ),
    remove: (member) => a.remove(member),
    close: () => a.close(),
  };
}

/** `server` lines with a weight in an nginx config: the endpoints it routes to. */
export async function endpointsIn(file: string): Promise<number> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return (text.match(/^\s+server 127\.0\.0\.1:\d+ weight=/gm) ?? []).length;
}
