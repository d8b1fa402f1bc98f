import { strictEqual } from "node:assert";
import { configFileOf, masterArgv } from "../../lib/backends/nginx/master.ts";
import { combineHealth, healthBody } from "../../lib/management/health.ts";

const DEBIAN = { prefix: "/usr/share/nginx", confPath: "/etc/nginx/nginx.conf" };

Deno.test("nginx master: the config file is read from the title as nginx resolves -c and -p", () => {
  const cases: [title: string, cwd: string, file: string][] = [
    ["nginx: master process /usr/sbin/nginx -c /a/nginx.conf -p /b", "/", "/a/nginx.conf"],
    ["nginx: master process /usr/sbin/nginx -p /b/ -c rel.conf", "/", "/b/rel.conf"],
    ["nginx: master process /usr/sbin/nginx", "/", "/etc/nginx/nginx.conf"],
    ["nginx: master process nginx -g daemon off; error_log stderr; -c /x.conf", "/", "/x.conf"],
    ["nginx: master process nginx -qc /y.conf", "/", "/y.conf"],
    ["nginx: master process nginx -c/z.conf", "/", "/z.conf"],
    ["nginx: master process nginx -p rel/ -c n.conf", "/srv", "/srv/rel/n.conf"],
    // A relative -c is relative to the prefix, not the working directory.
    ["nginx: master process nginx -c rel.conf", "/srv", "/usr/share/nginx/rel.conf"],
  ];
  for (const [title, cwd, file] of cases) {
    strictEqual(configFileOf(masterArgv(title)!, cwd, DEBIAN), file, title);
  }
});

Deno.test("nginx master: only an nginx master's title is one", () => {
  strictEqual(masterArgv("/usr/bin/sleep 300"), undefined);
  strictEqual(masterArgv("nginx: worker process"), undefined);
  strictEqual(masterArgv("nginx: master process nginx")?.join(" "), "nginx");
});

Deno.test("health body: failed reasons first, each on one line, in the original's words", () => {
  const r = combineHealth([
    () => ({ level: "degraded", lines: ["zk 10.0.0.1:2181: disconnected for 12s"] }),
    () => ({ level: "failed", lines: ["nginx -t said:\n  line one\n  line two"] }),
  ]);
  strictEqual(r.level, "failed");
  strictEqual(
    healthBody(r),
    "Health checks failed: nginx -t said: line one line two; zk 10.0.0.1:2181: disconnected for 12s",
  );
  strictEqual(healthBody({ level: "degraded", lines: ["x"] }), "OK");
});
