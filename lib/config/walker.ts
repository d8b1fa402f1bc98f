/**
 * The generic JSON walker every config parser uses: it collects errors (each naming its
 * JSON path, `servers[0].routes[1].locations`) instead of stopping at the first, and
 * reads objects through {@linkcode Fields}, which learns an object's keys from the code
 * that reads them, so no separate key list can drift from the parser.
 *
 * After an error, a getter returns a placeholder (`""`, `NaN`, `[]`) so parsing goes on
 * and finds the other problems; the walker's errors decide, and a config with any is
 * never returned.
 *
 * Some keys the original aurproxy ignored (unknown keys on the top level, servers,
 * routes and streams): those are reported through {@linkcode WalkerOptions.onIgnoredKey}
 * when the walker has one, and are errors otherwise (`--strict`).
 *
 * @module
 */

import { UsageError, UsageErrors } from "../errors.ts";
import { didYouMean } from "./did_you_mean.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** Returns why a string is refused, or undefined to accept it. */
export type Check = (s: string) => string | undefined;

/** Bounds and presence of a number. */
export interface NumberOpts {
  readonly required?: boolean;
  /** Value when the key is absent. */
  readonly def?: number;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Exclusive lower bound. */
  readonly above?: number;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `a.b`, or `b` at the root. */
export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A value as error messages show it: `"x"`, `number 5`, `a list`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length ? "a list" : "an empty list";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function numberKind(o: NumberOpts): string {
  const kind = o.integer ? "an integer" : "a number";
  if (o.min !== undefined && o.max !== undefined) return `${kind} ${o.min}-${o.max}`;
  if (o.above !== undefined) return `${kind} > ${o.above}`;
  if (o.min !== undefined) return `${kind} >= ${o.min}`;
  return kind;
}

const absent = (v: unknown) => v === undefined || v === null;

/** How a {@linkcode Walker} treats what the original ignored. */
export interface WalkerOptions {
  /**
   * Called for each key the original ignored (see {@linkcode Walker.ignore}), which is
   * then ignored here too. Without it such a key is an error, as under `--strict`.
   */
  readonly onIgnoredKey?: (warning: UsageError) => void;
}

/**
 * Collects errors while walking the JSON.
 *
 * @example
 * ```ts
 * const w = new Walker();
 * const f = w.fields({ port: "80" }, "servers[0]");
 * f?.number("port", { required: true, min: 1, max: 65535, integer: true }); // 80
 * f?.end();
 * w.throwIfErrors();
 * ```
 */
export class Walker {
  readonly errors: UsageError[] = [];
  /**
   * Keys ignored so far, in the order of the document (as errors are), for
   * {@linkcode flushWarnings}.
   */
  readonly warnings: UsageError[] = [];
  readonly #onIgnoredKey?: (warning: UsageError) => void;

  constructor(options: WalkerOptions = {}) {
    this.#onIgnoredKey = options.onIgnoredKey;
  }

  /** True when keys the original ignored are warnings (there is an `onIgnoredKey`). */
  get ignoring(): boolean {
    return this.#onIgnoredKey !== undefined;
  }

  /**
   * A key the original ignored: a warning for `onIgnoredKey` when {@linkcode ignoring}
   * (handed over by {@linkcode flushWarnings}), else an error with `reason`.
   */
  ignore(path: string, reason: string): void {
    if (this.ignoring) this.warnings.push(this.warning(path, reason));
    else this.errors.push(new UsageError(path, reason));
  }

  /** The warning for a key ignored for `reason`. */
  warning(path: string, reason: string): UsageError {
    return new UsageError(path, `${reason}; ignored, as the original did`);
  }

  /** Hands every warning so far to `onIgnoredKey`, in document order, once. */
  flushWarnings(): void {
    for (const w of this.warnings.splice(0)) this.#onIgnoredKey?.(w);
  }

  /** Records an error; returns undefined so a getter can `return w.fail(...)`. */
  fail(path: string, reason: string): undefined {
    this.errors.push(new UsageError(path, reason));
    return undefined;
  }

  /** Throws every error so far as one {@linkcode UsageErrors}, if there is any. */
  throwIfErrors(): void {
    if (this.errors.length) throw new UsageErrors(this.errors);
  }

  /** `v` as an object, or an error. */
  object(v: unknown, path: string): Json | undefined {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      return this.fail(path, `expected an object, got ${describe(v)}`);
    }
    return v as Json;
  }

  /** `v` as an object read by key, or an error. */
  fields(v: unknown, path: string): Fields | undefined {
    const o = this.object(v, path);
    return o && new Fields(this, o, path);
  }

  /** A number (numeric strings accepted, as the original was lax) within bounds. */
  numberValue(v: unknown, p: string, opts: NumberOpts): number | undefined {
    if (absent(v)) return opts.required ? this.fail(p, `required, ${numberKind(opts)}`) : opts.def;
    const n = typeof v === "number"
      ? v
      : typeof v === "string" && DECIMAL.test(v.trim())
      ? Number(v.trim())
      : NaN;
    if (!Number.isFinite(n) || (opts.integer && !Number.isInteger(n))) {
      return this.fail(p, `expected ${numberKind(opts)}, got ${describe(v)}`);
    }
    if (
      (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max) ||
      (opts.above !== undefined && n <= opts.above)
    ) {
      return this.fail(p, `expected ${numberKind(opts)}, got ${n}`);
    }
    return n;
  }

  /** A non-empty string passing `check`. */
  stringValue(v: unknown, p: string, required: boolean, check?: Check): string | undefined {
    if (absent(v)) return required ? this.fail(p, "required, a string") : undefined;
    if (typeof v !== "string" || v === "") {
      return this.fail(p, `expected a non-empty string, got ${describe(v)}`);
    }
    const bad = check?.(v);
    return bad ? this.fail(p, bad) : v;
  }

  /** A list of non-empty strings (non-empty itself when required), each passing `check`. */
  stringListValue(v: unknown, p: string, required: boolean, check?: Check): string[] | undefined {
    const what = required ? "a non-empty list of strings" : "a list of strings";
    if (absent(v)) return required ? this.fail(p, `required, ${what}`) : undefined;
    if (!Array.isArray(v) || (required && v.length === 0)) {
      return this.fail(p, `expected ${what}, got ${describe(v)}`);
    }
    const out: string[] = [];
    v.forEach((s, i) => {
      const ok = this.stringValue(s, `${p}[${i}]`, true, check);
      if (ok !== undefined) out.push(ok);
    });
    return out;
  }
}

/** Keys that belong elsewhere, each with the reason shown instead of "unknown key". */
export type Misplaced = Readonly<Record<string, string>>;

/**
 * One JSON object, read by key. Every key a getter (or {@linkcode Fields.has}) touches is
 * a known key; {@linkcode Fields.end} reports the others as unknown, with a did-you-mean.
 *
 * @example
 * ```ts
 * const f = new Walker().fields({ nmae: "a" }, "source")!;
 * f.requiredString("name"); // "" (error: source.name: required, a string)
 * f.end();                  // error: source.nmae: unknown key (did you mean "name"?)
 * ```
 */
export class Fields {
  readonly #known: Set<string>;
  /** Where this object's errors begin: unknown keys are reported first, as the user reads. */
  readonly #mark: number;
  /** The same for warnings. */
  readonly #warnMark: number;

  constructor(
    readonly walker: Walker,
    readonly obj: Json,
    readonly path: string,
    known: Set<string> = new Set(),
  ) {
    this.#known = known;
    this.#mark = walker.errors.length;
    this.#warnMark = walker.warnings.length;
  }

  /**
   * The same object and known keys, with errors going to `walker`: reading through it
   * with a scratch walker makes keys known without reporting anything.
   */
  withWalker(walker: Walker): Fields {
    return new Fields(walker, this.obj, this.path, this.#known);
  }

  /** The JSON path of `key`. */
  at(key: string): string {
    return join(this.path, key);
  }

  /** Records an error on `key` (on the object itself when `key` is empty). */
  fail(key: string, reason: string): undefined {
    return this.walker.fail(key ? this.at(key) : this.path, reason);
  }

  /** The raw value of a known key. */
  raw(key: string): unknown {
    this.#known.add(key);
    return this.obj[key];
  }

  /** Whether `key` is set (not absent or null); the key is known either way. */
  has(key: string): boolean {
    return !absent(this.raw(key));
  }

  /** An optional non-empty string. */
  string(key: string, check?: Check): string | undefined {
    return this.walker.stringValue(this.raw(key), this.at(key), false, check);
  }

  /** An optional non-empty string, `def` when absent. */
  stringOr(key: string, def: string, check?: Check): string {
    return this.string(key, check) ?? def;
  }

  /** A required non-empty string. */
  requiredString(key: string, check?: Check): string {
    return this.walker.stringValue(this.raw(key), this.at(key), true, check) ?? "";
  }

  /** A number; a number for sure when `required` or given a default. */
  number(key: string, opts: NumberOpts & ({ required: true } | { def: number })): number;
  number(key: string, opts?: NumberOpts): number | undefined;
  number(key: string, opts: NumberOpts = {}): number | undefined {
    const n = this.walker.numberValue(this.raw(key), this.at(key), opts);
    return n === undefined && (opts.required || opts.def !== undefined) ? NaN : n;
  }

  /** A list; `[]` when absent and optional. */
  list(key: string, required: boolean): unknown[] {
    const v = this.raw(key);
    const p = this.at(key);
    if (absent(v)) return required ? (this.walker.fail(p, "required, a non-empty list"), []) : [];
    if (!Array.isArray(v)) return this.walker.fail(p, `expected a list, got ${describe(v)}`), [];
    if (required && v.length === 0) return this.walker.fail(p, "required, a non-empty list"), [];
    return v;
  }

  /** A list of non-empty strings (non-empty itself when required); `[]` when absent. */
  stringList(key: string, required: boolean, check?: Check): string[] {
    return this.walker.stringListValue(this.raw(key), this.at(key), required, check) ?? [];
  }

  /** Each element of the list at `key` parsed by `parse` with its path; failures dropped. */
  each<T>(
    key: string,
    required: boolean,
    parse: (raw: unknown, path: string, index: number) => T | undefined,
  ): T[] {
    const out: T[] = [];
    const p = this.at(key);
    this.list(key, required).forEach((raw, i) => {
      const v = parse(raw, `${p}[${i}]`, i);
      if (v !== undefined) out.push(v);
    });
    return out;
  }

  /**
   * Reports every key no getter read, as unknown (with a did-you-mean among the known
   * keys) or with its `misplaced` reason. Call once, after reading every key.
   * `ignorable`: the original ignored unknown keys of this object, so they go to the
   * walker's {@linkcode Walker.ignore} (a warning, or an error under `--strict`).
   */
  end(misplaced: Misplaced = {}, opts: { readonly ignorable?: boolean } = {}): void {
    const known = [...this.#known];
    const unknown: UsageError[] = [];
    const ignored: UsageError[] = [];
    for (const k of Object.keys(this.obj)) {
      if (this.#known.has(k)) continue;
      const hint = didYouMean(k, known);
      const reason = Object.hasOwn(misplaced, k)
        ? `unknown key: ${misplaced[k]}`
        : `unknown key${hint ? ` (did you mean "${hint}"?)` : ""}`;
      if (opts.ignorable && this.walker.ignoring) {
        ignored.push(this.walker.warning(this.at(k), reason));
      } else unknown.push(new UsageError(this.at(k), reason));
    }
    if (unknown.length) this.walker.errors.splice(this.#mark, 0, ...unknown);
    if (ignored.length) this.walker.warnings.splice(this.#warnMark, 0, ...ignored);
  }
}
