/**
 * Issue 8 A9: a full disk. The live config and `<file>.1` (the config to fall back on)
 * must stay complete, and no temp file may be left behind, whatever write fails; temp
 * files a killed earlier run left are removed at start. The config directory is a small
 * tmpfs of its own (root is needed to mount it; the test is skipped otherwise).
 */

import { strictEqual } from "node:assert";
import { resolveNginx, testConfig } from "../../lib/backends/nginx/binary.ts";
import { NginxBackend } from "../../lib/backends/nginx/backend.ts";
import { memoryLogger } from "../../lib/log.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { startBackend } from "../../testing/backend.ts";
import { httpGet } from "../../testing/http.ts";
import { nginxOptions, startNginx } from "../../testing/nginx.ts";
import { freePort } from "../../testing/ports.ts";
import { snapshot } from "../../testing/snapshots.ts";

const isRoot = Deno.uid() === 0;

/** Mounts a tmpfs of `size` on a new dir; `[Symbol.asyncDispose]` unmounts and removes it. */
async function smallDisk(size: string) {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-disk-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
  }).output();
  if (!mount.success) throw new Error(new TextDecoder().decode(mount.stderr));
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [dir] }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Fills the disk holding `file` (appending until ENOSPC), then frees `freeBytes` of it. */
async function fill(file: string, freeBytes = 0): Promise<void> {
  const f = await Deno.open(file, { create: true, append: true });
  const chunk = new Uint8Array(4096);
  try {
    for (;;) await f.write(chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    f.close();
  }
  const { size } = await Deno.stat(file);
  await Deno.truncate(file, Math.max(0, size - freeBytes));
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test({
  name: "nginx: a full disk leaves the live file and <file>.1 complete and no temp file behind",
  ignore: !isRoot,
  async fn() {
    const a = await startBackend({ name: "a" });
    const b = await startBackend({ name: "b" });
    const c = await startBackend({ name: "c" });
    await using disk = await smallDisk("1m");
    const port = freePort();
    const route = (ports: number[]) =>
      snapshot([{ ports: [port], routes: [{ locations: ["/"], ports }] }]);
    // Many members that do not listen (weight 1 beside the live one's 1000): a live file
    // far larger than the next one, so writing `.1` needs more room than the temp file.
    const unused = Array.from({ length: 1500 }, (_, i) => 20000 + i);
    const nginx = await startNginx(route([a.port]), [port], {
      configurationFile: `${disk.dir}/nginx.conf`,
    });
    const file = nginx.options.configurationFile;
    const bin = resolveNginx("nginx");
    try {
      strictEqual(
        (await nginx.backend.apply(route([b.port, ...unused]), { reload: true })).kind,
        "applied",
      );
      const liveB = await Deno.readTextFile(file);
      const previousA = await Deno.readTextFile(`${file}.1`);

      // Not one byte free: the temp file itself cannot be written.
      await fill(`${disk.dir}/filler`);
      const full = await nginx.backend.apply(route([c.port]), { reload: true });
      strictEqual(full.kind, "error", JSON.stringify(full));
      strictEqual(
        full.kind === "error" && full.error.includes("No space left"),
        true,
        JSON.stringify(full),
      );
      strictEqual(
        JSON.stringify(await names(disk.dir)),
        JSON.stringify(["filler", "nginx.conf", "nginx.conf.1"]),
      );
      strictEqual(await Deno.readTextFile(file), liveB);
      strictEqual(await Deno.readTextFile(`${file}.1`), previousA);

      // Room for the small new config, not for a copy of the large live one as `.1`.
      await Deno.remove(`${disk.dir}/filler`);
      await fill(`${disk.dir}/filler`, 3 * 4096);
      const tight = await nginx.backend.apply(route([c.port]), { reload: true });
      const left = await names(disk.dir);
      strictEqual(left.every((n) => !n.endsWith(".tmp")), true, `temp files left: ${left}`);
      // `.1` is always a complete config nginx accepts: the one before the live one.
      const previous = await testConfig(bin, `${file}.1`, nginx.dir);
      strictEqual(previous.ok, true, `${file}.1 broken: ${JSON.stringify(previous)}`);
      strictEqual((await testConfig(bin, file, nginx.dir)).ok, true);
      // Keeping `.1` takes no room (it is the live file's old content, linked): applied.
      strictEqual(tight.kind, "applied", JSON.stringify(tight));
      strictEqual(await Deno.readTextFile(`${file}.1`), liveB);
      strictEqual((await httpGet(port, "/")).body, "c");
    } finally {
      await nginx.stop();
      await a.close();
      await b.close();
      await c.close();
    }
  },
});

Deno.test("nginx: temp files a killed earlier run left beside the config are removed at start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy-nginx-" });
  try {
    const options = nginxOptions(dir);
    await Deno.mkdir(`${dir}/conf`);
    const leftovers = ["nginx.conf.4242.0badf00d.tmp", "nginx.conf.1.999.deadbeef.tmp"];
    const others = ["nginx.conf.bak", "nginx.conf.other.tmp", "other.conf.4242.0badf00d.tmp"];
    for (const n of [...leftovers, ...others]) await Deno.writeTextFile(`${dir}/conf/${n}`, "x");
    const backend = new NginxBackend(options, {
      logger: memoryLogger(),
      metrics: new MetricsRegistry("aurproxy"),
    });
    const r = await backend.apply(
      snapshot([{ ports: [freePort()], routes: [{ locations: ["/"], ports: [1] }] }]),
      { reload: false },
    );
    strictEqual(r.kind, "applied");
    strictEqual(
      JSON.stringify(await names(`${dir}/conf`)),
      JSON.stringify(["nginx.conf", ...others].sort()),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
