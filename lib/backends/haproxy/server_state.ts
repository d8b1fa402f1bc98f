/**
 * `show servers state`, parsed. The format is versioned: a first line `1`, then a header
 * line `# be_id be_name srv_id …` naming the space-separated columns. Columns are read by
 * those names, so a column HAProxy adds (or moves) in a later format leaves these
 * records intact.
 *
 * @module
 */

/** HAProxy's operational state of a server (`srv_op_state`). */
export type ServerOperState = "stopped" | "starting" | "running" | "stopping";

/** Administrative state as an operator sets it (`set server … state`). */
export type ServerAdminState = "ready" | "drain" | "maint";

/** `srv_admin_state` bits (HAProxy's SRV_ADMF_*). */
export const ADMIN_FLAGS = {
  /** Forced maintenance (`state maint`, `disabled`, a new dynamic server). */
  forcedMaint: 0x01,
  /** Maintenance inherited from a tracked server. */
  inheritedMaint: 0x02,
  /** From the configuration's `disabled`: stays set after `state ready`, not maintenance then. */
  configMaint: 0x04,
  /** Forced drain (`state drain`). */
  forcedDrain: 0x08,
  /** Drain inherited from a tracked server. */
  inheritedDrain: 0x10,
  /** Maintenance because its name does not resolve. */
  resolutionMaint: 0x20,
  /** Maintenance because its host name resolves to no address. */
  hostnameMaint: 0x40,
} as const;

const MAINT = ADMIN_FLAGS.forcedMaint | ADMIN_FLAGS.inheritedMaint |
  ADMIN_FLAGS.resolutionMaint | ADMIN_FLAGS.hostnameMaint;
const DRAIN = ADMIN_FLAGS.forcedDrain | ADMIN_FLAGS.inheritedDrain;
const OPER: readonly ServerOperState[] = ["stopped", "starting", "running", "stopping"];

/** One server of one backend, as HAProxy reports it. */
export interface ServerStateRecord {
  readonly backendId: number;
  readonly backend: string;
  readonly serverId: number;
  readonly server: string;
  /** `srv_addr`: `0.0.0.0` for a slot never given an address. */
  readonly address: string;
  /** `srv_port`: 0 for a slot never given one. */
  readonly port: number;
  readonly operState: ServerOperState;
  /** `maint` when any maintenance bit but the configuration's is set, else `drain` or `ready`. */
  readonly adminState: ServerAdminState;
  /** `srv_admin_state`, the raw bits ({@linkcode ADMIN_FLAGS}). */
  readonly adminFlags: number;
  /** `srv_uweight`: the weight in effect (0..256). */
  readonly weight: number;
  /** `srv_iweight`: the weight the configuration gave. */
  readonly initialWeight: number;
  /** `srv_time_since_last_change`, seconds. */
  readonly secondsSinceChange: number;
  /** `srv_fqdn`, when set. */
  readonly fqdn?: string;
  /** Every column by its header name, as text (`-` for none). */
  readonly columns: Readonly<Record<string, string>>;
}

/**
 * Parses `show servers state [backend]` output. Throws on a format other than `1` or a
 * reply that is not this table (an error message).
 *
 * @example
 * ```ts
 * // Captured from HAProxy 2.6.12: a filled server drained to weight 20, a free slot.
 * const text = "1\n" +
 *   "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
 *   "3 b 1 s1 127.0.0.1 2 8 20 10 0 1 0 2 0 0 0 0 - 18901 - 0 0 - - 0\n" +
 *   "3 b 3 slot2 0.0.0.0 0 5 1 1 1 1 0 0 8 0 0 0 - 0 - 0 0 - - 0\n\n";
 * const [s1, slot2] = parseServersState(text);
 * s1.adminState; // "drain"
 * s1.weight; // 20
 * slot2.adminState; // "maint"
 * slot2.port; // 0
 * ```
 */
export function parseServersState(text: string): ServerStateRecord[] {
  const lines = text.split("\n");
  const version = lines[0]?.trim();
  if (version !== "1") {
    throw new Error(`show servers state: not format 1: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const header = lines[1] ?? "";
  if (!header.startsWith("# ")) {
    throw new Error(`show servers state: no header line: ${JSON.stringify(header.slice(0, 80))}`);
  }
  const names = header.slice(2).trim().split(/\s+/);
  const out: ServerStateRecord[] = [];
  for (const line of lines.slice(2)) {
    if (!line.trim() || line.startsWith("#")) continue;
    const values = line.trim().split(/\s+/);
    const columns: Record<string, string> = {};
    names.forEach((n, i) => (columns[n] = values[i] ?? "-"));
    out.push(record(columns));
  }
  return out;
}

function record(c: Record<string, string>): ServerStateRecord {
  const num = (name: string) => {
    const v = Number(c[name]);
    if (!Number.isFinite(v)) throw new Error(`show servers state: ${name} is ${c[name]}`);
    return v;
  };
  const flags = num("srv_admin_state");
  const fqdn = c.srv_fqdn && c.srv_fqdn !== "-" ? c.srv_fqdn : undefined;
  return {
    backendId: num("be_id"),
    backend: c.be_name,
    serverId: num("srv_id"),
    server: c.srv_name,
    address: c.srv_addr,
    port: num("srv_port"),
    operState: OPER[num("srv_op_state")] ?? "stopped",
    adminState: flags & MAINT ? "maint" : flags & DRAIN ? "drain" : "ready",
    adminFlags: flags,
    weight: num("srv_uweight"),
    initialWeight: num("srv_iweight"),
    secondsSinceChange: num("srv_time_since_last_change"),
    ...(fqdn ? { fqdn } : {}),
    columns: c,
  };
}
