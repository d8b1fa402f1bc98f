/** The README's first command must keep working: run the demo's scripted part. */
import { strictEqual } from "node:assert";

Deno.test("demo: `bash scripts/demo.sh --once` runs the whole walkthrough and exits 0", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  const out = await new Deno.Command("bash", {
    args: ["scripts/demo.sh", "--once"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  strictEqual(out.code, 0, text);
  strictEqual(text.includes("shards answering: 0, 1, 2"), true, text);
  strictEqual(text.includes("shards answering: 0, 2\n"), true, text);
  strictEqual(text.includes("shards answering: 0, 2, 3"), true, text);
  strictEqual(/Hello World! \(shard \d, port \d+\)/.test(text), true, text);
  strictEqual(text.includes("shutdown complete"), true, text);
});
