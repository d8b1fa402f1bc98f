/**
 * `aurproxy validate` as an adversary uses it (issue 8, A14), through the command line
 * and a real `nginx -t`: absurdly deep context, a config nginx refuses, the files a check
 * could leave behind, ambiguous IPv4 spellings as hosts.
 */
import { deepStrictEqual, strictEqual } from "node:assert";
import { runAurproxy } from "../../testing/aurproxy_command.ts";

/** `aurproxy validate <flags> --config=<config>`. */
function validate(config: unknown, ...flags: string[]) {
  return runAurproxy(["validate", ...flags, `--config=${JSON.stringify(config)}`]);
}

// deno-lint-ignore no-explicit-any
function base(extra: Record<string, any> = {}): Record<string, any> {
  return {
    backend: "nginx",
    servers: [{
      hosts: ["default"],
      ports: [18080],
      routes: [{
        locations: ["/"],
        sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9000 }],
      }],
    }],
    ...extra,
  };
}

/** `{"a": {"a": ... "x" ...}}`, `depth` objects deep. */
function nested(depth: number): unknown {
  let v: unknown = "x";
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

Deno.test("validate: context nested thousands of levels deep is a config error naming the path", async () => {
  for (const depth of [2000, 20000]) {
    for (const where of ["top", "server"]) {
      const config = base();
      if (where === "top") config.context = { deep: nested(depth) };
      else config.servers[0].context = { deep: nested(depth) };
      const r = await validate(config);
      strictEqual(r.code, 2, `${depth} ${where}: ${r.stderr.slice(0, 300)}`);
      strictEqual(r.stderr.includes("RangeError"), false, r.stderr.slice(0, 300));
      const root = where === "top" ? "context" : "servers[0].context";
      strictEqual(
        r.stderr.trim(),
        `aurproxy validate: ${root}.deep${".a".repeat(31)}: nested more than 32 levels deep: ` +
          "context values are flat",
      );
    }
  }
});

Deno.test("validate: a config nginx -t refuses is a config error, exit 2", async () => {
  const r = await validate(base({ context: { worker_connections: "lots" } }));
  strictEqual(r.code, 2, r.stderr);
  strictEqual(
    r.stderr.startsWith("aurproxy validate: nginx -t rejected the rendered config:\n"),
    true,
    r.stderr,
  );
  strictEqual(r.stderr.includes('invalid number "lots"'), true, r.stderr);
});

/** Every path under `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      out.push(`${rel}${e.name}`);
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
    }
  };
  await walk(dir, "");
  return out.sort();
}

Deno.test("validate: nginx -t leaves no file behind: pid file, temp dirs, log files", async () => {
  const prefix = await Deno.makeTempDir({ prefix: "aurproxy-validate-prefix-" });
  const files = await Deno.makeTempDir({ prefix: "aurproxy-validate-files-" });
  try {
    const config = base({
      configuration_file: `${files}/conf/nginx.conf`,
      nginx_pid_path: `${files}/nginx.pid`,
      nginx_prefix: prefix,
      stats_port: 18081,
      context: { access_log: `${files}/access.log`, error_log: `${files}/error.log` },
    });
    config.servers.push({
      ports: [18082],
      streams: [{
        sources: [{ source_class: "static", name: "t", host: "127.0.0.1", port: 9001 }],
      }],
    });
    const r = await validate(config);
    strictEqual(r.code, 0, r.stderr);
    strictEqual(r.stdout.includes("nginx -t: rendered config OK"), true, r.stdout);
    deepStrictEqual(await tree(prefix), [], "nothing in nginx_prefix");
    deepStrictEqual(await tree(files), [], "no pid, log or config file");
  } finally {
    await Deno.remove(prefix, { recursive: true });
    await Deno.remove(files, { recursive: true });
  }
});

Deno.test("validate: ambiguous IPv4 spellings are refused as hosts, saying what they read as", async () => {
  for (
    const [host, read] of [["2130706433", "127.0.0.1"], ["127.1", "127.0.0.1"], [
      "0x7f.1",
      "127.0.0.1",
    ], ["010.0.0.1", "8.0.0.1"]]
  ) {
    const config = base();
    config.servers[0].routes[0].sources[0].host = host;
    const r = await validate(config);
    strictEqual(r.code, 2, `${host}: ${r.stdout}`);
    strictEqual(
      r.stderr.trim(),
      `aurproxy validate: servers[0].routes[0].sources[0].host: "${host}" is an ambiguous IPv4 ` +
        `spelling (read as ${read}): write an address as four decimal numbers (like 127.0.0.1); ` +
        "a host name may not end in a number",
    );
  }
  const zk = base();
  zk.servers[0].routes[0].sources[0] = {
    source_class: "serverset",
    path: "/sd/web",
    zk_servers: "127.1:2181",
  };
  const r = await validate(zk);
  strictEqual(r.code, 2);
  strictEqual(r.stderr.includes('bad entry "127.1:2181"'), true, r.stderr);
  // The plain forms stay valid.
  const ok = base();
  ok.servers[0].routes[0].sources[0].host = "127.0.0.1";
  strictEqual((await validate(ok, "--skip-nginx-test")).code, 0);
});
