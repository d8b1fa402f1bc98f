/**
 * Shared bits of the benchmarks: percentiles, process CPU/RSS from /proc, wrk runs, and
 * the result table + JSON every benchmark prints and writes (bench/results/<name>.json).
 *
 * @module
 */

/** The p-th percentile (0..100) of `xs`, nearest-rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Resident set size of `pid` in MB. */
export function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/**
 * CPU seconds (user + system) used so far by `pid`; with `children`, those of the children
 * it has waited for (for aurproxy: every `nginx -t`) instead.
 */
export function cpuSeconds(pid: number, opts: { children?: boolean } = {}): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const at = opts.children ? 13 : 11;
  const ticks = Number(fields[at]) + Number(fields[at + 1]);
  return ticks / 100; // USER_HZ is 100 on Linux.
}

/** Milliseconds since the epoch, sub-millisecond: comparable across processes on a host. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** What {@linkcode sampleProcess} saw. */
export interface ProcessSamples {
  /** Wall seconds sampled. */
  readonly seconds: number;
  /** CPU % of a core over the whole window. */
  readonly cpuMeanPct: number;
  /** Highest CPU % of a core over one sampling interval. */
  readonly cpuMaxPct: number;
  /** CPU % of a core of the children waited for (nginx -t), over the window. */
  readonly childCpuMeanPct: number;
  /** CPU % of a core per interval, in order. */
  readonly cpuPct: readonly number[];
  /** RSS per interval, MB. */
  readonly rssMb: readonly number[];
  readonly rssMaxMb: number;
}

/**
 * Samples a process's CPU and RSS from /proc every `everyMs` until `stop()`. At 100 ticks
 * a second, a 1 s interval resolves CPU to 1 % of a core.
 */
export function sampleProcess(pid: number, everyMs = 1000): { stop(): ProcessSamples } {
  const start = {
    t: performance.now(),
    cpu: cpuSeconds(pid),
    kids: cpuSeconds(pid, { children: true }),
  };
  let prev = { t: start.t, cpu: start.cpu };
  const cpuPct: number[] = [];
  const rss: number[] = [rssMb(pid)];
  const timer = setInterval(() => {
    const now = { t: performance.now(), cpu: cpuSeconds(pid) };
    cpuPct.push(((now.cpu - prev.cpu) / ((now.t - prev.t) / 1000)) * 100);
    rss.push(rssMb(pid));
    prev = now;
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      const seconds = (performance.now() - start.t) / 1000;
      const cpu = cpuSeconds(pid) - start.cpu;
      const kids = cpuSeconds(pid, { children: true }) - start.kids;
      rss.push(rssMb(pid));
      return {
        seconds,
        cpuMeanPct: (cpu / seconds) * 100,
        cpuMaxPct: Math.max(...cpuPct),
        childCpuMeanPct: (kids / seconds) * 100,
        cpuPct,
        rssMb: rss,
        rssMaxMb: Math.max(...rss),
      };
    },
  };
}

export interface WrkResult {
  requests: number;
  rps: number;
  errors: number;
  non2xx: number;
  raw: string;
}

/** Runs wrk against a loopback URL (bounded by `seconds`). */
export async function wrk(
  url: string,
  opts: { seconds: number; connections?: number; threads?: number; close?: boolean },
): Promise<WrkResult> {
  const args = [
    `-t${opts.threads ?? 2}`,
    `-c${opts.connections ?? 32}`,
    `-d${opts.seconds}s`,
    ...(opts.close ? ["-H", "Connection: close"] : []),
    url,
  ];
  const out = await new Deno.Command("wrk", { args, stdout: "piped", stderr: "piped" }).output();
  const raw = new TextDecoder().decode(out.stdout);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  return {
    requests: Number(/(\d+) requests in/.exec(raw)?.[1] ?? 0),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(raw)?.[1] ?? 0),
    errors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0),
    raw,
  };
}

export interface Row {
  readonly metric: string;
  readonly value: number | string;
  readonly unit?: string;
  readonly baseline?: number;
  readonly target?: string;
}

/** Prints a table (with value/baseline ratios) and writes bench/results/<name>.json. */
export async function report(
  name: string,
  rows: readonly Row[],
  extra: Record<string, unknown> = {},
) {
  const fmt = (v: number | string | undefined) =>
    v === undefined
      ? ""
      : typeof v === "number"
      ? (Number.isInteger(v)
        ? String(v)
        : v.toFixed(Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2))
      : v;
  const table = rows.map((r) => ({
    metric: r.metric,
    value: `${fmt(r.value)}${r.unit ? ` ${r.unit}` : ""}`,
    baseline: r.baseline === undefined ? "" : `${fmt(r.baseline)}${r.unit ? ` ${r.unit}` : ""}`,
    ratio: r.baseline && typeof r.value === "number" ? `${(r.value / r.baseline).toFixed(3)}x` : "",
    target: r.target ?? "",
  }));
  const widths = ["metric", "value", "baseline", "ratio", "target"].map((k) =>
    Math.max(k.length, ...table.map((t) => t[k as keyof typeof t].length))
  );
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  console.log(`\n${name}`);
  console.log(line(["metric", "value", "baseline", "ratio", "target"]));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const t of table) console.log(line([t.metric, t.value, t.baseline, t.ratio, t.target]));
  const dir = new URL("./results/", import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}${name}.json`,
    JSON.stringify({ name, at: new Date().toISOString(), rows, ...extra }, null, 2) + "\n",
  );
  console.log(`(written to bench/results/${name}.json)`);
}

/**
 * The cases a benchmark's `--cases=a,b` names, every one known; an unknown one is a usage
 * error (exit 2, naming the known ones).
 */
export function selectCases(spec: string, known: readonly string[]): string[] {
  const cases = spec.split(",");
  const unknown = cases.filter((c) => !known.includes(c));
  if (unknown.length) {
    console.error(`unknown case(s) ${unknown.join(", ")}; known: ${known.join(", ")}`);
    Deno.exit(2);
  }
  return cases;
}
