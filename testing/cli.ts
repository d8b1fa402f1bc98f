/**
 * `run --setup` followed by a real nginx on the config it wrote, for tests of what an
 * operator sees (aurproxy run as in `aurproxy_command.ts`).
 *
 * @module
 */

import { strictEqual } from "node:assert";
import { nginxKeys } from "./aurproxy_stack.ts";
import { type Finished, runAurproxy } from "./aurproxy_command.ts";
import { nginxOptions, runNginx } from "./nginx.ts";

/**
 * `run --setup` writes `config` (its nginx files put in a temp dir), a real nginx runs
 * it, `fn` sends requests; then nginx stops and the dir is removed. Returns what
 * `--setup` printed.
 *
 * @example
 * ```ts
 * const source = { source_class: "static", name: "a", host: "127.0.0.1", port: 9000 };
 * const config = { servers: [{ ports: [8080], routes: [{ locations: ["/"], sources: [source] }] }] };
 * await serveWithSetup(config, 8080, async () => {
 *   // requests to 127.0.0.1:8080
 * });
 * ```
 */
export async function serveWithSetup(
  config: Record<string, unknown>,
  proxyPort: number,
  fn: (dir: string) => Promise<void>,
  setupFlags: readonly string[] = [],
): Promise<Finished> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-cli-" });
  try {
    const keys = nginxKeys(dir);
    const setup = await runAurproxy([
      "run",
      "--setup",
      "--management-port=1",
      ...setupFlags,
      `--config=${JSON.stringify({ ...config, ...keys })}`,
    ]);
    strictEqual(setup.code, 0, setup.stderr);
    const nginx = await runNginx(nginxOptions(dir), [proxyPort]);
    try {
      await fn(dir);
    } finally {
      await nginx.stop();
    }
    return setup;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
