/**
 * Checks an AWS Signature Version 4 `Authorization` header the way AWS does: the access
 * key and the credential scope (date, region, service), the signed headers that must be
 * there, the payload hash, and the signature itself, recomputed with the secret key.
 * So a test passing against the stand-in proves the SDK really signed with the keys and
 * region it was given.
 *
 * @module
 */

const enc = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of `data` as lower-case hex. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

async function hmac(key: ArrayBuffer | Uint8Array, data: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return await crypto.subtle.sign("HMAC", k, enc.encode(data));
}

/** RFC 3986 encoding, as SigV4 wants it. */
function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** What the stand-in expects of every request. */
export interface SigV4Expectation {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Accepted regions of the credential scope. */
  readonly regions: readonly string[];
  /** Signing name of the service the request was routed to (`ec2`, `route53`, ...). */
  readonly service: string;
}

/** The parts of a checked signature, for tests that look at them. */
export interface SigV4Parts {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
}

/** Why a request is refused: an AWS error code and message. */
export interface SigV4Failure {
  readonly code: "MissingAuthenticationToken" | "InvalidClientTokenId" | "SignatureDoesNotMatch";
  readonly message: string;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const REQUIRED_HEADERS = ["host", "x-amz-date"];

/**
 * Verifies the signature of a request whose body was already read. Returns the parts, or
 * why the request must be refused.
 */
export async function verifySigV4(
  req: Request,
  body: Uint8Array,
  want: SigV4Expectation,
): Promise<SigV4Parts | SigV4Failure> {
  const auth = req.headers.get("authorization");
  if (!auth) return { code: "MissingAuthenticationToken", message: "no Authorization header" };
  const m = AUTH.exec(auth);
  if (!m) return { code: "SignatureDoesNotMatch", message: `malformed Authorization: ${auth}` };
  const [, accessKeyId, date, region, service, signed, signature] = m;
  if (accessKeyId !== want.accessKeyId) {
    return { code: "InvalidClientTokenId", message: `unknown access key ${accessKeyId}` };
  }
  if (!want.regions.includes(region)) {
    return { code: "SignatureDoesNotMatch", message: `credential scope region ${region}` };
  }
  if (service !== want.service) {
    return { code: "SignatureDoesNotMatch", message: `credential scope service ${service}` };
  }
  const signedHeaders = signed.split(";");
  const missing = REQUIRED_HEADERS.filter((h) => !signedHeaders.includes(h));
  if (missing.length) {
    return { code: "SignatureDoesNotMatch", message: `not signed: ${missing.join(", ")}` };
  }
  const amzDate = req.headers.get("x-amz-date") ?? "";
  if (!amzDate.startsWith(date)) {
    return { code: "SignatureDoesNotMatch", message: `x-amz-date ${amzDate} vs scope ${date}` };
  }
  const bodyHash = await sha256Hex(body);
  const declared = req.headers.get("x-amz-content-sha256");
  if (declared && declared !== "UNSIGNED-PAYLOAD" && declared !== bodyHash) {
    return { code: "SignatureDoesNotMatch", message: "x-amz-content-sha256 is not the body's" };
  }
  const url = new URL(req.url);
  const query = [...url.searchParams]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a, x], [b, y]) => a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const headers = signedHeaders
    .map((h) => `${h}:${(req.headers.get(h) ?? "").trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonical = [
    req.method,
    encodeURIComponent(url.pathname).replace(/%2F/g, "/"),
    query,
    headers,
    signed,
    declared ?? bodyHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${await sha256Hex(canonical)}`;
  let key: ArrayBuffer | Uint8Array = enc.encode(`AWS4${want.secretAccessKey}`);
  for (const part of [date, region, service, "aws4_request"]) key = await hmac(key, part);
  const expected = hex(await hmac(key, toSign));
  if (expected !== signature) {
    return { code: "SignatureDoesNotMatch", message: "signature does not match" };
  }
  return { accessKeyId, date, region, service, signedHeaders };
}
