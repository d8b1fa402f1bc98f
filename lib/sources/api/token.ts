/**
 * The bearer token that PUT and DELETE require when `--api-token-file` is given: read
 * once at start-up (restart to rotate it), compared in constant time.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { UsageError } from "../../errors.ts";

/** Printable ASCII without spaces: what fits `Authorization: Bearer <token>`. */
const TOKEN = /^[\x21-\x7e]+$/;

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * @example
 * ```ts
 * const token = ApiToken.of("s3cret");
 * token.accepts("Bearer s3cret"); // true
 * token.accepts("Bearer nope"); // false
 * token.accepts(null); // false
 * ```
 */
export class ApiToken {
  readonly #digest: Uint8Array;

  private constructor(token: string) {
    this.#digest = digest(token);
  }

  /** A token given as text; throws UsageError (naming `flag`) when it cannot be one. */
  static of(text: string, flag = "--api-token-file"): ApiToken {
    const token = text.trim();
    if (token === "") throw new UsageError(flag, "the token file is empty");
    if (!TOKEN.test(token)) {
      throw new UsageError(flag, "the token must be one line of printable ASCII without spaces");
    }
    return new ApiToken(token);
  }

  /** Reads the token from `path` (surrounding whitespace, such as a final newline, ignored). */
  static async fromFile(path: string, flag = "--api-token-file"): Promise<ApiToken> {
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      throw new UsageError(flag, `cannot read ${path}: ${(err as Error).message}`);
    }
    return ApiToken.of(text, flag);
  }

  /** Whether an `Authorization` header carries this token. */
  accepts(authorization: string | null): boolean {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? "");
    if (!m) return false;
    // Equal-length digests: the comparison takes as long whatever was sent.
    return timingSafeEqual(digest(m[1]), this.#digest);
  }
}
