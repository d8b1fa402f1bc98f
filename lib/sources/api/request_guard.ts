/**
 * What a request to change managed sources must pass before its body is looked at:
 * no foreign `Origin` (a browser page elsewhere cannot drive the API on an operator's
 * behalf), the bearer token when one is configured, and a body of at most
 * {@linkcode MAX_BODY_BYTES} that is UTF-8 JSON.
 *
 * @module
 */

import type { ApiToken } from "./token.ts";

/** The largest request body read; larger ones are answered 413 unread. */
export const MAX_BODY_BYTES = 64 * 1024;

/** A refusal: the status, the message, and headers to add. */
export interface Refusal {
  readonly status: number;
  readonly message: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Refuses a request without the configured bearer token (no token configured: none). */
export function checkToken(req: Request, token: ApiToken | undefined): Refusal | undefined {
  if (!token) return undefined;
  const header = req.headers.get("authorization");
  if (token.accepts(header)) return undefined;
  return {
    status: 401,
    message: header === null
      ? "A bearer token is required (Authorization: Bearer <token>)"
      : "Invalid bearer token",
    headers: { "www-authenticate": 'Bearer realm="aurproxy"' },
  };
}

/**
 * Reads the body as JSON, at most `limit` bytes: 413 beyond (by `Content-Length`, or as
 * soon as a chunked body passes it), 400 when it is not UTF-8 JSON.
 */
export async function readJsonBody(
  req: Request,
  limit = MAX_BODY_BYTES,
): Promise<{ readonly ok: true; readonly value: unknown } | (Refusal & { readonly ok: false })> {
  const tooLarge = {
    ok: false,
    status: 413,
    message: `Request body larger than ${limit} bytes`,
  } as const;
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) {
    await req.body?.cancel().catch(() => {});
    return tooLarge;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    const reader = req.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return tooLarge;
      }
      chunks.push(value);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, status: 400, message: "(body): not UTF-8 text" };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const why = err instanceof SyntaxError ? err.message : "too deeply nested";
    return { ok: false, status: 400, message: `(body): not JSON: ${why}` };
  }
}
