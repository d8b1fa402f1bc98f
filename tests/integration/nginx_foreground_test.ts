/**
 * Issue 8 B2: under Thermos (and any supervisor), `nginx -c FILE` must stay in the
 * foreground, as the original's template made it (`daemon off;`). A daemonizing nginx
 * ends the process the supervisor started, which then counts as finished or failed.
 */

import { strictEqual } from "node:assert";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { resolveNginx } from "../../lib/backends/nginx/binary.ts";
import { isAlive } from "../../lib/backends/nginx/process.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions } from "../../testing/nginx.ts";
import { freePort, waitFor, waitForPort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

Deno.test("nginx: `nginx -c FILE` on the file aurproxy writes stays in the foreground and is the master", async () => {
  const web = await startBackend({ name: "web" });
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-fg-" });
  const options = nginxOptions(dir);
  const port = freePort();
  const backend = new NginxBackend(options, {
    logger: memoryLogger(),
    metrics: new MetricsRegistry("aurproxy"),
  });
  const snap = snapshot([{ ports: [port], routes: [{ locations: ["/"], ports: [web.port] }] }]);
  strictEqual((await backend.apply(snap, { reload: false })).kind, "applied");
  // Exactly what an operator (or a Thermos process) runs: no `-g "daemon off;"`.
  const child = new Deno.Command(resolveNginx("nginx").path, {
    args: ["-p", dir, "-c", options.configurationFile],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  let exited: Deno.CommandStatus | undefined;
  const status = child.status.then((s) => (exited = s));
  try {
    await waitForPort(port);
    strictEqual((await httpGet(port, "/")).body, "web");
    await new Promise((r) => setTimeout(r, 300));
    strictEqual(exited, undefined, `nginx -c exited (${JSON.stringify(exited)}): it daemonized`);
    const pid = Number((await Deno.readTextFile(options.pidPath)).trim());
    strictEqual(pid, child.pid, "the process started is the master named in the pid file");
    // A graceful stop of that process stops nginx (nothing is left serving).
    child.kill("SIGQUIT");
    await status;
    await waitFor("port closed", async () => {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return false;
      } catch {
        return true;
      }
    });
  } finally {
    // A daemonized master (the failure this test catches) left the group: stop it by pid.
    const pid = Number((await Deno.readTextFile(options.pidPath).catch(() => "")).trim());
    for (const group of [pid, child.pid]) {
      try {
        if (group > 0 && isAlive(group)) Deno.kill(-group, "SIGKILL");
      } catch {
        // The group is gone.
      }
    }
    await status;
    await Deno.remove(dir, { recursive: true });
    await web.close();
  }
});
