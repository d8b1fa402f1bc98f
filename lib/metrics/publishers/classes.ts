/**
 * `--metric-publisher-class` and its `--metric-publisher-arg key=value`s: the original's
 * class paths (`tellapart.aurproxy.metrics.publisher.LibratoMetricPublisher`, ...) or their
 * short names, each with the original's arguments. Checked as a whole before anything
 * starts, so a bad flag is a usage error (exit 2), never a publisher failing at 3 a.m.
 *
 * @module
 */

import { UsageError } from "../../errors.ts";
import { suggest } from "../../text/suggest.ts";
import { LibratoPublisher } from "./librato.ts";
import { OpenTsdbPublisher } from "./opentsdb.ts";
import type { MetricPublisher } from "./publisher.ts";
import { StatsdPublisher } from "./statsd.ts";

/** The original's package of publisher classes. */
const PACKAGE = "tellapart.aurproxy.metrics.publisher.";

/** A validated publisher choice. */
export type PublisherConfig =
  | {
    readonly kind: "librato";
    readonly apiUser: string;
    readonly apiToken: string;
    readonly source: string;
    readonly periodSeconds: number;
    readonly apiUrl?: string;
  }
  | {
    readonly kind: "opentsdb";
    readonly prefix: string;
    readonly host: string;
    readonly port: number;
    readonly source: string;
    readonly periodSeconds: number;
  }
  | {
    readonly kind: "statsd";
    readonly host: string;
    readonly port: number;
    readonly prefix: string;
    readonly tags: readonly string[];
    readonly periodSeconds: number;
  };

interface ClassSpec {
  readonly required: readonly string[];
  readonly optional: readonly string[];
  readonly build: (a: Args) => PublisherConfig;
}

type Args = (key: string) => string | undefined;

const ARG = "--metric-publisher-arg";

function period(a: Args): number {
  const raw = a("period") ?? "60";
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(ARG, `period: expected seconds above 0, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function port(a: Args, fallback?: string): number {
  const raw = a("port") ?? fallback ?? "";
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(ARG, `port: expected 1-65535, got ${JSON.stringify(raw)}`);
  }
  return n;
}

function url(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol === "http:" || u.protocol === "https:") return raw;
  } catch {
    // Reported below.
  }
  throw new UsageError(ARG, `api_url: expected an http(s) URL, got ${JSON.stringify(raw)}`);
}

/** The classes, by short name. */
const CLASSES: Readonly<Record<string, ClassSpec>> = {
  LibratoMetricPublisher: {
    required: ["api_user", "api_token", "source"],
    optional: ["period", "api_url"],
    build: (a) => ({
      kind: "librato",
      apiUser: a("api_user")!,
      apiToken: a("api_token")!,
      source: a("source")!,
      periodSeconds: period(a),
      apiUrl: url(a("api_url")),
    }),
  },
  OpenTSDBMetricPublisher: {
    required: ["prefix", "host", "port", "source"],
    optional: ["period"],
    build: (a) => ({
      kind: "opentsdb",
      prefix: a("prefix")!,
      host: a("host")!,
      port: port(a),
      source: a("source")!,
      periodSeconds: period(a),
    }),
  },
  StatsdMetricPublisher: {
    required: [],
    optional: ["host", "port", "prefix", "tags", "period"],
    build: (a) => ({
      kind: "statsd",
      host: a("host") ?? "127.0.0.1",
      port: port(a, "8125"),
      prefix: a("prefix") ?? "",
      tags: (a("tags") ?? "").split(",").map((t) => t.trim()).filter(Boolean),
      periodSeconds: period(a),
    }),
  },
};

/** Every accepted class name (short and with the original's package). */
export const PUBLISHER_CLASSES: readonly string[] = Object.keys(CLASSES).flatMap((
  n,
) => [`${PACKAGE}${n}`, n]);

/**
 * Validates the flags; undefined when no class is given. Throws {@linkcode UsageError}
 * naming the flag.
 *
 * @example
 * ```ts
 * publisherConfig("tellapart.aurproxy.metrics.publisher.OpenTSDBMetricPublisher", [
 *   "prefix=apps.", "host=localhost", "port=4242", "source=devel.web.",
 * ]);
 * // { kind: "opentsdb", prefix: "apps.", host: "localhost", port: 4242, source: "devel.web.", periodSeconds: 60 }
 * ```
 */
export function publisherConfig(
  className: string | undefined,
  args: readonly string[],
): PublisherConfig | undefined {
  if (className === undefined || className === "") {
    if (args.length) throw new UsageError(ARG, "given without --metric-publisher-class");
    return undefined;
  }
  const short = className.startsWith(PACKAGE) ? className.slice(PACKAGE.length) : className;
  const spec = CLASSES[short];
  if (!spec) {
    const hint = suggest(className, PUBLISHER_CLASSES);
    throw new UsageError(
      "--metric-publisher-class",
      `unknown class ${JSON.stringify(className)}${hint ? ` (did you mean ${hint}?)` : ""}; ` +
        `known: ${Object.keys(CLASSES).join(", ")}`,
    );
  }
  const values = new Map<string, string>();
  for (const arg of args) {
    const eq = arg.indexOf("=");
    if (eq <= 0) throw new UsageError(ARG, `expected key=value, got ${JSON.stringify(arg)}`);
    const key = arg.slice(0, eq);
    if (![...spec.required, ...spec.optional].includes(key)) {
      throw new UsageError(
        ARG,
        `${short} takes ${[...spec.required, ...spec.optional].join(", ")}; not ${key}`,
      );
    }
    values.set(key, arg.slice(eq + 1));
  }
  const missing = spec.required.filter((k) => !values.has(k));
  if (missing.length) throw new UsageError(ARG, `${short} needs ${missing.join(", ")}`);
  return spec.build((k) => values.get(k));
}

/** What a publisher needs of the process it runs in. */
export interface PublisherEnv {
  /** OpenTSDB's `host=` tag. */
  readonly hostname: string;
  /** OpenTSDB's `pid=` tag. */
  readonly pid: number;
  /** Librato's `User-Agent`: `aurproxy/<version>`. */
  readonly userAgent: string;
}

/**
 * Builds the publisher a {@linkcode publisherConfig} chose.
 *
 * @example
 * ```ts
 * const config = publisherConfig("StatsdMetricPublisher", ["port=8125"])!;
 * const publisher = createPublisher(config, { hostname: "h1", pid: 1, userAgent: "aurproxy/0.1.0" });
 * publisher.name; // "statsd"
 * ```
 */
export function createPublisher(c: PublisherConfig, env: PublisherEnv): MetricPublisher {
  switch (c.kind) {
    case "librato":
      return new LibratoPublisher({ ...c, userAgent: env.userAgent });
    case "opentsdb":
      return new OpenTsdbPublisher({ ...c, hostname: env.hostname, pid: env.pid });
    case "statsd":
      return new StatsdPublisher(c);
  }
}
