/**
 * `show stat`, parsed: HAProxy's CSV of one row per frontend, backend, server and
 * listener, its columns named by the first line (`# pxname,svname,…`). Values stay text
 * keyed by column name; {@linkcode statNumber} reads a counter.
 *
 * @module
 */

/** What a row describes (`type`: 0, 1, 2, 3). */
export type StatRowType = "frontend" | "backend" | "server" | "listener";

const TYPES: readonly StatRowType[] = ["frontend", "backend", "server", "listener"];

/** One row of `show stat`. */
export interface StatRow {
  /** `pxname`: the frontend's or backend's name. */
  readonly proxy: string;
  /** `svname`: `FRONTEND`, `BACKEND`, or the server's or listener's name. */
  readonly name: string;
  readonly type: StatRowType;
  /** `status`: `OPEN`, `UP`, `DOWN`, `MAINT`, `DRAIN`, `no check`, … */
  readonly status: string;
  /** Every column by name; empty where HAProxy has no value for this kind of row. */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * Parses `show stat` CSV. Throws when the first line is not its header.
 *
 * @example
 * ```ts
 * const csv = "# pxname,svname,qcur,scur,stot,status,weight,type,hrsp_2xx,\n" +
 *   "f,FRONTEND,,0,12,OPEN,,0,12,\n" +
 *   "b,s1,0,0,7,UP,10,2,7,\n\n";
 * const rows = parseStatCsv(csv);
 * rows[1].type; // "server"
 * statNumber(rows[1], "stot"); // 7
 * statNumber(rows[0], "qcur"); // undefined: empty for a frontend
 * ```
 */
export function parseStatCsv(text: string): StatRow[] {
  const lines = text.split("\n");
  if (!lines[0]?.startsWith("# ")) {
    throw new Error(`show stat: no CSV header: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const names = lines[0].slice(2).split(",");
  const out: StatRow[] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const cells = line.split(",");
    const values: Record<string, string> = {};
    names.forEach((n, i) => {
      if (n) values[n] = cells[i] ?? "";
    });
    out.push({
      proxy: values.pxname ?? "",
      name: values.svname ?? "",
      type: TYPES[Number(values.type)] ?? "server",
      status: values.status ?? "",
      values,
    });
  }
  return out;
}

/** The number in column `field` of `row`, or undefined when empty or not a number. */
export function statNumber(row: StatRow, field: string): number | undefined {
  const v = row.values[field];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}
