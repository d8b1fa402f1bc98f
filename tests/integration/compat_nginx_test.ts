/**
 * Drop-in compatibility with the original aurproxy (issue 8, B5, B6, B8), through
 * `run --setup` and a real nginx answering requests: its prefix `healthcheck_route`,
 * international host names, and its access log.
 */
import { strictEqual } from "node:assert";
import { startBackend } from "../../testing/backend.ts";
import { runAurproxy } from "../../testing/aurproxy_command.ts";
import { serveWithSetup } from "../../testing/cli.ts";
import { nginxKeys } from "../../testing/aurproxy_stack.ts";
import { httpGet } from "../../testing/http.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";

const staticSource = (port: number, name = "web") => ({
  source_class: "tellapart.aurproxy.source.StaticProxySource",
  name,
  host: "127.0.0.1",
  port,
});

Deno.test('compat: healthcheck_route is a prefix location, as the original\'s; "= /path" is exact', async () => {
  const backend = await startBackend({ name: "web" });
  try {
    const port = freePort();
    const config = (healthcheck: string) => ({
      backend: "nginx",
      servers: [{
        hosts: ["default"],
        ports: [port],
        healthcheck_route: healthcheck,
        context: { default_server: "True", location_blacklist: ["/health", "/quitquitquit"] },
        routes: [{ locations: ["/"], sources: [staticSource(backend.port)] }],
      }],
    });
    await serveWithSetup(config("/healthcheck"), port, async () => {
      const answered = (await httpGet(port, "/healthcheck")).status;
      strictEqual(answered, 200);
      const deep = await httpGet(port, "/healthcheck/deep");
      strictEqual(deep.status, 200, "answered by nginx, beside the /health blacklist entry");
      strictEqual(deep.body, "", "nginx's own empty 200, not the backend");
      strictEqual((await httpGet(port, "/health")).status, 403);
      strictEqual((await httpGet(port, "/x")).body, "web");
    });
    await serveWithSetup(config("= /healthcheck"), port, async () => {
      strictEqual((await httpGet(port, "/healthcheck")).status, 200);
      // Exact: the health location does not answer it; the /health blacklist entry does.
      strictEqual((await httpGet(port, "/healthcheck/deep")).status, 403);
    });
  } finally {
    await backend.close();
  }
});

Deno.test("compat: international host names are served as their IDNA (punycode) server_names", async () => {
  const a = await startBackend({ name: "intl" });
  const b = await startBackend({ name: "other" });
  try {
    const port = freePort();
    const config = {
      backend: "nginx",
      servers: [
        {
          hosts: ["test核.example.com", "*.bücher.de"],
          ports: [port],
          routes: [{ locations: ["/"], sources: [staticSource(a.port, "a")] }],
        },
        {
          hosts: ["default"],
          ports: [port],
          context: { default_server: true },
          routes: [{ locations: ["/"], sources: [staticSource(b.port, "b")] }],
        },
      ],
    };
    const v = await runAurproxy(["validate", `--config=${JSON.stringify(config)}`]);
    strictEqual(v.code, 0, v.stderr);
    const render = await runAurproxy(["render", `--config=${JSON.stringify(config)}`]);
    strictEqual(
      render.stdout.includes("server_name xn--test-jn2i.example.com *.xn--bcher-kva.de;"),
      true,
      render.stdout,
    );
    await serveWithSetup(config, port, async () => {
      strictEqual((await httpGet(port, "/", { host: "xn--test-jn2i.example.com" })).body, "intl");
      strictEqual((await httpGet(port, "/", { host: "shop.xn--bcher-kva.de" })).body, "intl");
      strictEqual((await httpGet(port, "/", { host: "example.com" })).body, "other");
    });
  } finally {
    await a.close();
    await b.close();
  }
});

/** A temp dir for nginx's files, and the config keys that put them there. */
async function tempDir() {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-compat-" });
  return {
    dir,
    conf: `${dir}/conf/nginx.conf`,
    keys: nginxKeys(dir),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** nginx on `conf`, its stdout collected (where the original's access log goes). */
function nginxWithStdout(d: { dir: string; conf: string }) {
  const text = Deno.readTextFileSync(d.conf);
  // An nginx.conf that says `daemon off;` itself must not get it twice.
  const daemon = /^daemon off;/m.test(text) ? [] : ["-g", "daemon off;"];
  const child = new Deno.Command("nginx", {
    args: ["-p", d.dir, "-c", d.conf, ...daemon],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const drained = Promise.all([
    (async () => {
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
    })(),
    new Response(child.stderr).text(),
  ]);
  return {
    stdout: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}
Deno.test("compat: the original's access log is the default again: combined_forwarded_ip to stdout", async () => {
  const backend = await startBackend({ name: "web" });
  try {
    for (
      const [access, expect] of [[undefined, "stdout"], ["off", "none"], ["file", "file"]] as const
    ) {
      await using d = await tempDir();
      const port = freePort();
      const context = access === "file"
        ? { access_log: `${d.dir}/access.log` }
        : access === "off"
        ? { access_log: "off" }
        : {};
      const config = {
        backend: "nginx",
        ...d.keys,
        context,
        servers: [{
          hosts: ["default"],
          ports: [port],
          routes: [{ locations: ["/"], sources: [staticSource(backend.port)] }],
        }],
      };
      const setup = await runAurproxy([
        "run",
        "--setup",
        "--management-port=1",
        `--config=${JSON.stringify(config)}`,
      ]);
      strictEqual(setup.code, 0, setup.stderr);
      const text = await Deno.readTextFile(d.conf);
      strictEqual(
        text.includes(
          `log_format combined_forwarded_ip '$remote_addr ($http_x_forwarded_for) - $remote_user [$time_local]  ` +
            `"$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$host" ` +
            `$request_time $upstream_response_time "$upstream_addr" $msec';`,
        ),
        true,
        text,
      );
      const nginx = nginxWithStdout(d);
      try {
        await waitForPort(port);
        strictEqual(
          (await httpGet(port, "/logged?x=1", { host: "logged.example.com" })).body,
          "web",
        );
        // One line per request, in the original's format: client (forwarded-for) - user
        // [time]  "request" status bytes "referer" "agent" "host" time upstream-time "upstream" msec
        const line = new RegExp(
          String
            .raw`^127\.0\.0\.1 \(-\) - - \[[^\]]+\]  "GET /logged\?x=1 HTTP/1\.1" 200 3 "-" "-" ` +
            String
              .raw`"logged\.example\.com" \d+\.\d{3} \d+\.\d{3} "127\.0\.0\.1:${backend.port}" \d+\.\d{3}$`,
          "m",
        );
        if (expect === "stdout") {
          await waitFor("access log line on stdout", () => line.test(nginx.stdout()));
        } else if (expect === "file") {
          await waitFor(
            "access log line in the file",
            () => Deno.readTextFile(`${d.dir}/access.log`).then((t) => line.test(t), () => false),
          );
          strictEqual(nginx.stdout(), "");
        } else {
          await new Promise((r) => setTimeout(r, 300));
          strictEqual(nginx.stdout(), "", "access_log off: nothing logged");
        }
      } finally {
        await nginx.stop();
      }
    }
  } finally {
    await backend.close();
  }
});
