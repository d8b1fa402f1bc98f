/**
 * Logs (--log-format), Sentry DSNs, nginx's stub_status and the process metrics: the
 * parts of observability that need no outside process.
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { UsageError } from "../../lib/errors.ts";
import { consoleLogger } from "../../lib/log.ts";
import { parseStubStatus } from "../../lib/metrics/nginx_stats.ts";
import {
  maxOpenFiles,
  ProcessMetrics,
  virtualMemoryBytes,
} from "../../lib/metrics/process_metrics.ts";
import { MetricsRegistry } from "../../lib/metrics/registry.ts";
import { sentryDsn } from "../../lib/observability/sentry.ts";

Deno.test("log format json: one object a line with time, level, logger, message, error and fields", () => {
  const lines: string[] = [];
  const sunk: string[] = [];
  const log = consoleLogger({
    format: "json",
    level: "debug",
    component: "aurproxy",
    write: (l) => lines.push(l),
    errorSink: (msg) => sunk.push(msg),
  }).child("metrics");
  log.warn("publish failed", new TypeError("refused"), { publisher: "librato", level: "x" });
  log.error('a "quoted"\nline');
  const [a, b] = lines.map((l) => JSON.parse(l));
  strictEqual(lines.every((l) => !l.includes("\n")), true);
  strictEqual(typeof a.time, "string");
  strictEqual(Number.isNaN(Date.parse(a.time)), false);
  deepStrictEqual(
    { level: a.level, logger: a.logger, message: a.message, error: a.error, type: a.error_type },
    {
      level: "warn",
      logger: "aurproxy.metrics",
      message: "publish failed",
      error: "refused",
      type: "TypeError",
    },
  );
  strictEqual(a.publisher, "librato");
  strictEqual(typeof a.stack, "string");
  strictEqual(b.level, "error");
  strictEqual(b.message, 'a "quoted"\nline');
  // ERROR lines reach the sink (Sentry) in either format.
  deepStrictEqual(sunk, ['aurproxy.metrics: a "quoted"\nline']);
});

Deno.test("log format text: fields follow the message as key=value", () => {
  const lines: string[] = [];
  const log = consoleLogger({ write: (l) => lines.push(l), component: "x" });
  log.info("published", undefined, { publisher: "statsd", note: "two words" });
  strictEqual(
    lines[0].endsWith(' INFO x: published publisher=statsd note="two words"'),
    true,
    lines[0],
  );
});

Deno.test("log: a failing error sink never breaks the code that logged", () => {
  const log = consoleLogger({
    write: () => {},
    errorSink: () => {
      throw new Error("sentry broke");
    },
  });
  log.error("still fine");
});

Deno.test("sentry DSN: the original's spellings, empty is off, anything else a usage error", () => {
  strictEqual(sentryDsn(""), undefined);
  strictEqual(sentryDsn(undefined), undefined);
  strictEqual(
    sentryDsn("gevent+https://pub:secret@app.getsentry.com/42"),
    "https://pub:secret@app.getsentry.com/42",
  );
  strictEqual(
    sentryDsn("https://0123abcd@o1.ingest.sentry.io/7?timeout=3"),
    "https://0123abcd@o1.ingest.sentry.io/7",
  );
  strictEqual(
    sentryDsn("http://k@127.0.0.1:9000/sub/path/5"),
    "http://k@127.0.0.1:9000/sub/path/5",
  );
  for (
    const bad of [
      "sentry.example.com/1",
      "https://sentry.example.com/1",
      "ftp://k:s3cr3t@sentry.example.com/1",
      "https://k@sentry.example.com/project",
      "https://k@sentry.example.com:port/1",
    ]
  ) {
    throws(
      () => sentryDsn(bad),
      (e: unknown) =>
        e instanceof UsageError && e.path === "--sentry-dsn" && !e.message.includes("s3cr3t"),
      bad,
    );
  }
});

Deno.test("stub_status: parsed as nginx writes it; anything else is an error", () => {
  deepStrictEqual(
    parseStubStatus(
      "Active connections: 291 \nserver accepts handled requests\n 16630948 16630946 31070465 \nReading: 6 Writing: 179 Waiting: 106 \n",
    ),
    {
      active: 291,
      accepts: 16630948,
      handled: 16630946,
      requests: 31070465,
      reading: 6,
      writing: 179,
      waiting: 106,
    },
  );
  throws(() => parseStubStatus("<html>502 Bad Gateway</html>"), /not an nginx stub_status page/);
});

Deno.test("process metrics: /proc/self's limits and status", () => {
  strictEqual(
    maxOpenFiles(
      "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \n",
    ),
    1024,
  );
  strictEqual(
    maxOpenFiles("Max open files            unlimited            unlimited            files\n"),
    undefined,
  );
  strictEqual(
    virtualMemoryBytes("Name:\tdeno\nVmSize:\t  123456 kB\nVmRSS:\t 1000 kB\n"),
    123456 * 1024,
  );
});

Deno.test("process metrics: the standard names; without /proc, the three that need it are left out", async () => {
  const metrics = new MetricsRegistry("aurproxy");
  const denied = {
    readText: () => Promise.reject(new Deno.errors.NotCapable("needs --allow-all")),
    count: () => Promise.reject(new Deno.errors.NotCapable("needs --allow-all")),
  };
  await new ProcessMetrics(metrics, { proc: denied, startTimeSeconds: 1234 }).collect();
  const names = metrics.families().map((f) => f.name);
  deepStrictEqual(names, [
    "aurproxy_process_heap_used_bytes",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
  ]);
  strictEqual(metrics.root().get("process_start_time_seconds"), 1234);
  strictEqual(metrics.root().get("process_resident_memory_bytes") > 0, true);
  const fake = {
    readText: (p: string) =>
      Promise.resolve(
        p.endsWith("limits") ? "Max open files 4096 4096 files\n" : "VmSize: 10 kB\n",
      ),
    count: () => Promise.resolve(17),
  };
  const full = new MetricsRegistry("aurproxy");
  await new ProcessMetrics(full, { proc: fake }).collect();
  strictEqual(full.root().get("process_open_fds"), 17);
  strictEqual(full.root().get("process_max_fds"), 4096);
  strictEqual(full.root().get("process_virtual_memory_bytes"), 10240);
});
