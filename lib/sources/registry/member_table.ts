/**
 * The members of one registry path, parsed once per version of their data: a children
 * event among 2,000 members parses the one that joined, not all 2,000. Pure: fed what the
 * children watch read, it says which endpoints the members give and which members to
 * report as skipped (each once per content).
 *
 * @module
 */

import { type Endpoint, endpointKey } from "../../model/endpoint.ts";
import type { ZkNodeData } from "../../zk/reader.ts";
import type { MemberResult } from "./member.ts";

/** How members are chosen and parsed. */
export interface MemberTableOptions {
  /** The watched path; a member's origin is `<zkPath>/<name>`. */
  readonly zkPath: string;
  /**
   * Which members count, given every member's name in znode (sequence) order. Default:
   * all; the Mesos source keeps only the lowest sequence (the leader).
   */
  readonly choose?: (names: readonly string[]) => readonly string[];
  /** Parses one member's data. */
  readonly parse: (data: string, path: string) => MemberResult;
}

/** A member that gives no endpoint, reported once for the content it was skipped for. */
export interface SkippedMember {
  readonly path: string;
  readonly result: Exclude<MemberResult, { kind: "ok" }>;
}

/** What the members give now. */
export interface MemberTableUpdate {
  /** One per instance, in member order (an instance announced twice counts once). */
  readonly endpoints: Endpoint[];
  /** The endpoints' fingerprints (see {@linkcode endpointFingerprint}). */
  readonly fingerprints: Set<string>;
  /** Members newly skipped (not reported before with the same data). */
  readonly skipped: SkippedMember[];
  /** How many members count (chosen), whether or not they give an endpoint. */
  readonly members: number;
}

interface Parsed {
  readonly version: string;
  readonly result: MemberResult;
  /** For an endpoint: its key and fingerprint, computed once. */
  readonly key?: string;
  readonly fingerprint?: string;
  /** The data this member was last reported as skipped for, while it stays skipped. */
  reported?: string;
}

/**
 * An endpoint's identity and content: two lists with the same set of fingerprints are the
 * same list for traffic, whatever their order or origins.
 */
export function endpointFingerprint(e: Endpoint): string {
  return `${endpointKey(e)}${JSON.stringify(e.ports)}`;
}

/** True when both sets hold the same fingerprints. */
export function sameFingerprints(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const f of a) if (!b.has(f)) return false;
  return true;
}

/**
 * @example
 * ```ts
 * import { parseServerSetMember } from "./member.ts";
 *
 * const table = new MemberTable({
 *   zkPath: "/sd/web",
 *   parse: (data, origin) => parseServerSetMember(data, { origin }),
 * });
 * const data = '{"serviceEndpoint":{"host":"10.0.0.1","port":80},"status":"ALIVE"}';
 * const { endpoints } = table.update(new Map([["member_0000000001", { data, version: "a1" }]]));
 * // endpoints: [{ host: "10.0.0.1", port: 80, ... }]; updated again with version "a1": not parsed again
 * ```
 */
export class MemberTable {
  readonly #o: MemberTableOptions;
  readonly #parsed = new Map<string, Parsed>();
  #parses = 0;

  constructor(opts: MemberTableOptions) {
    this.#o = opts;
  }

  /** How many times a member's data was parsed (for tests of the cache). */
  get parses(): number {
    return this.#parses;
  }

  /** The endpoints of `children` (name → data, in name order). */
  update(children: ReadonlyMap<string, ZkNodeData>): MemberTableUpdate {
    const endpoints: Endpoint[] = [];
    const fingerprints = new Set<string>();
    const keys = new Set<string>();
    const skipped: SkippedMember[] = [];
    const names = this.#o.choose ? this.#o.choose([...children.keys()]) : children.keys();
    let members = 0;
    for (const name of names) {
      const node = children.get(name);
      if (!node) continue;
      members++;
      const m = this.#member(name, node);
      const r = m.result;
      if (r.kind === "ok") {
        // An instance announced twice (an announcer retrying) is still one instance.
        if (keys.has(m.key!)) continue;
        keys.add(m.key!);
        fingerprints.add(m.fingerprint!);
        endpoints.push(r.endpoint);
        continue;
      }
      // Each bad member is reported once, however many times the list is re-read.
      if (m.reported === node.data) continue;
      m.reported = node.data;
      skipped.push({ path: `${this.#o.zkPath}/${name}`, result: r });
    }
    // Members gone from the path leave the cache.
    if (this.#parsed.size > children.size || this.#o.choose) {
      for (const name of this.#parsed.keys()) if (!children.has(name)) this.#parsed.delete(name);
    }
    return { endpoints, fingerprints, skipped, members };
  }

  #member(name: string, node: ZkNodeData): Parsed {
    const cached = this.#parsed.get(name);
    if (cached && cached.version === node.version) return cached;
    this.#parses++;
    const result = this.#o.parse(node.data, `${this.#o.zkPath}/${name}`);
    const m: Parsed = result.kind === "ok"
      ? {
        version: node.version,
        result,
        key: endpointKey(result.endpoint),
        fingerprint: endpointFingerprint(result.endpoint),
      }
      : { version: node.version, result, reported: cached?.reported };
    this.#parsed.set(name, m);
    return m;
  }
}
