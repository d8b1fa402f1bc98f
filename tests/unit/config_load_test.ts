import { deepStrictEqual, ok, rejects, strictEqual, throws } from "node:assert";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { findJsonSyntaxError, loadConfigText, parseJsonText } from "../../lib/config/load.ts";
import { loadConfig } from "../../lib/kinds.ts";
import { UsageError, UsageErrors } from "../../lib/errors.ts";

const CONFIG = JSON.stringify({
  backend: "nginx",
  servers: [{
    ports: [8080],
    routes: [{
      locations: ["/"],
      sources: [{ source_class: "static", name: "a", host: "127.0.0.1", port: 9000 }],
    }],
  }],
});

/** Runs `f` with a fresh temp dir, removed afterwards. */
async function inTempDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "aurproxy_config_" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts `p` rejects with a UsageError on `--config` with exactly this reason. */
async function usageError(p: Promise<unknown>, reason: string): Promise<void> {
  await rejects(p, (e: unknown) => {
    ok(e instanceof UsageError, String(e));
    strictEqual(e.path, "--config");
    strictEqual(e.reason, reason);
    return true;
  });
}

Deno.test("loadConfigText: a value starting with { is the JSON itself", async () => {
  strictEqual(await loadConfigText(CONFIG), CONFIG);
  strictEqual(await loadConfigText(`  \n${CONFIG}`), `  \n${CONFIG}`);
  const c = await loadConfig(` ${CONFIG}`);
  deepStrictEqual(c.servers[0].ports, [8080]);
});

Deno.test("loadConfigText: file:// URLs and plain paths read the file", async () => {
  await inTempDir(async (dir) => {
    const file = join(dir, "my config.json");
    await Deno.writeTextFile(file, CONFIG);
    const url = pathToFileURL(file).href;
    ok(url.includes("%20"), url);
    strictEqual(await loadConfigText(url), CONFIG);
    strictEqual(await loadConfigText(file), CONFIG);
    strictEqual((await loadConfig(url)).servers[0].routes[0].slug, "s_any_8080_r0_root");
    strictEqual((await loadConfig(file)).servers.length, 1);
  });
});

Deno.test("loadConfigText: unreadable sources are --config usage errors", async () => {
  await inTempDir(async (dir) => {
    const missing = join(dir, "missing.json");
    await usageError(loadConfigText(missing), `cannot read ${missing}: no such file`);
    await usageError(loadConfigText(`file://${missing}`), `cannot read ${missing}: no such file`);
    await usageError(loadConfig(missing), `cannot read ${missing}: no such file`);
    await usageError(loadConfigText(dir), `cannot read ${dir}: is a directory`);
    await usageError(loadConfigText("  "), "empty: expected a JSON object, file:///path or a path");
    await rejects(loadConfigText("file://host/etc/x.json"), (e: unknown) => {
      ok(e instanceof UsageError && e.path === "--config", String(e));
      ok(e.reason.startsWith('not a valid file URL "file://host/etc/x.json": '), e.reason);
      return true;
    });
  });
});

Deno.test("loadConfig: invalid JSON names line and column (and the file)", async () => {
  await usageError(
    loadConfig("{nope"),
    'invalid JSON at line 1, column 2: expected a property name in double quotes, got "n"',
  );
  await inTempDir(async (dir) => {
    const file = join(dir, "bad.json");
    await Deno.writeTextFile(file, '{\n  "backend": "nginx",\n  "servers": [1, 2,]\n}\n');
    await usageError(
      loadConfig(`file://${file}`),
      `invalid JSON in ${file} at line 3, column 20: trailing comma before "]"`,
    );
    await Deno.writeTextFile(file, "");
    await usageError(
      loadConfig(file),
      `invalid JSON in ${file} at line 1, column 1: expected a value, got the end of the input`,
    );
  });
});

Deno.test("loadConfig: a well-formed but invalid config throws every problem", async () => {
  await rejects(loadConfig('{"backend": "nope", "servers": []}'), (e: unknown) => {
    ok(e instanceof UsageErrors, String(e));
    deepStrictEqual(e.errors.map((x) => x.message), [
      'backend: expected one of "nginx", "haproxy", got "nope"',
      "servers: required, a non-empty list",
    ]);
    return true;
  });
});

Deno.test("parseJsonText: a byte-order mark is ignored; messages never quote the whole text", () => {
  deepStrictEqual(parseJsonText('\uFEFF{"a": 1}', "--config"), { a: 1 });
  const big = `{"a": tru, "padding": "${"x".repeat(10_000)}"}`;
  throws(() => parseJsonText(big, "--config"), (e: unknown) => {
    ok(e instanceof UsageError);
    strictEqual(e.message, '--config: invalid JSON at line 1, column 7: expected a value, got "t"');
    return true;
  });
});

Deno.test("findJsonSyntaxError: positions and reasons of common mistakes", () => {
  const cases: [string, number, string][] = [
    ['{"a": 1,}', 8, 'trailing comma before "}"'],
    ["{'a': 1}", 1, `expected a property name in double quotes, got "'"`],
    ['{"a" 1}', 5, 'expected ":" after a property name, got "1"'],
    ['{"a": 1 "b": 2}', 8, 'expected "," or "}", got "\\""'],
    ['{"a": "x', 6, "unterminated string"],
    ['{"a": "x\ny"}', 8, "control character in a string (write it as an escape like \\n)"],
    ['{"a": "\\q"}', 7, "bad escape in a string"],
    ['{"a": 1} x', 9, 'unexpected "x" after the end of the JSON value'],
    ['{"a": -01}', 8, 'expected "," or "}", got "1"'],
    ["[1, 2", 5, 'expected "," or "]", got the end of the input'],
  ];
  for (const [text, offset, reason] of cases) {
    deepStrictEqual(findJsonSyntaxError(text), { offset, reason }, text);
  }
  for (const text of ['{"a": {"b": [ ] , "c": { } }}', " [ ] ", '"\\u00e9"', "-1.5e+3", CONFIG]) {
    strictEqual(findJsonSyntaxError(text), undefined, text);
  }
});

Deno.test("findJsonSyntaxError: agrees with JSON.parse on which texts are valid", () => {
  // Deterministic pseudo-random texts from JSON fragments: the scanner must flag exactly
  // the texts JSON.parse refuses, or the line/column it reports would be made up.
  const parts = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"a"',
    "1",
    "-",
    "0",
    ".",
    "e",
    "true",
    "nul",
    " ",
    "\n",
    '"',
    "\\",
    '"\\u00',
    "2",
  ];
  let seed = 42;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let valid = 0;
  for (let k = 0; k < 20_000; k++) {
    let text = "";
    for (let n = 1 + Math.floor(next() * 10); n > 0; n--) {
      text += parts[Math.floor(next() * parts.length)];
    }
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    if (parses) valid++;
    strictEqual(findJsonSyntaxError(text) === undefined, parses, JSON.stringify(text));
  }
  ok(valid > 100, `only ${valid} valid texts generated`);
});
