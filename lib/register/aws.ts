/**
 * What every AWS client of registration shares: region, credentials and time bounds.
 *
 * Credentials: the SDK's default provider chain (environment, shared config and
 * credentials files, SSO, web identity, container and instance roles) unless the
 * original's arguments give keys: `access_key` / `secret_key`, or files holding them,
 * `access_key_path` / `secret_key_path` (white space around the key stripped; a file
 * holding more than one line or word is refused; an explicit key wins over its file, as
 * in the original).
 *
 * Endpoints are left to the SDK, which (checked for the version in deno.json) honours
 * `AWS_ENDPOINT_URL`, the per-service `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING`,
 * `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`, `AWS_ENDPOINT_URL_EC2` and
 * `AWS_ENDPOINT_URL_ROUTE_53`, `endpoint_url` in the shared config file and
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`. The one gap, instance metadata for registration
 * itself, is filled by `instance_metadata.ts`.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** Explicit keys; without them the SDK's default provider chain is used. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Settings every client of one registerer shares. */
export interface AwsSettings {
  readonly region: string;
  readonly credentials?: AwsCredentials;
  /** Bound on one HTTP request (the SDK retries within `maxAttempts`). Default 5 s. */
  readonly requestTimeoutMs?: number;
  /** Bound on opening a connection. Default 2 s. */
  readonly connectionTimeoutMs?: number;
  /** Attempts per call; default the SDK's (3, or `AWS_MAX_ATTEMPTS`). */
  readonly maxAttempts?: number;
}

/** Default bound on one AWS HTTP request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Default bound on opening a connection to AWS. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 2000;

/** The configuration object every SDK v3 client constructor takes. */
export interface ClientConfig {
  readonly region: string;
  readonly credentials?: AwsCredentials;
  readonly maxAttempts?: number;
  readonly requestHandler: {
    readonly requestTimeout: number;
    readonly connectionTimeout: number;
    readonly throwOnRequestTimeout: true;
  };
}

/**
 * SDK client configuration for `settings`. A request that takes longer than the timeout
 * is an error the SDK retries (without `throwOnRequestTimeout` it only warns and waits).
 *
 * @example
 * ```ts
 * import { ElasticLoadBalancingClient } from "@aws-sdk/client-elastic-load-balancing";
 *
 * const elb = new ElasticLoadBalancingClient(clientConfig({ region: "us-east-1" }));
 * elb.destroy();
 * ```
 */
export function clientConfig(settings: AwsSettings): ClientConfig {
  return {
    region: settings.region,
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(settings.maxAttempts ? { maxAttempts: settings.maxAttempts } : {}),
    requestHandler: {
      requestTimeout: settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: settings.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
  };
}

/** The credential arguments of every registerer, as given. */
export interface CredentialArgs {
  readonly access_key?: string;
  readonly secret_key?: string;
  readonly access_key_path?: string;
  readonly secret_key_path?: string;
}

/**
 * Explicit credentials from the arguments, or undefined for the SDK's chain. A key without
 * its other half, or a key file that cannot be read or is empty, is a usage error naming
 * the argument.
 *
 * @example
 * ```ts
 * // AWS's documented example keys, as the files would hold them.
 * const files: Record<string, string> = {
 *   "/etc/aws/key": "AKIAIOSFODNN7EXAMPLE\n",
 *   "/etc/aws/secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
 * };
 * explicitCredentials({ access_key_path: "/etc/aws/key", secret_key_path: "/etc/aws/secret" }, (p) => files[p]);
 * // { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" }
 * ```
 */
export function explicitCredentials(
  args: CredentialArgs,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): AwsCredentials | undefined {
  const fromFile = (name: "access_key_path" | "secret_key_path"): string | undefined => {
    const path = args[name];
    if (path === undefined) return undefined;
    let text: string;
    try {
      text = readTextFile(path);
    } catch (err) {
      const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message;
      throw new UsageError(`--registration-arg ${name}`, `cannot read ${path}: ${why}`);
    }
    const key = text.trim();
    if (key === "") throw new UsageError(`--registration-arg ${name}`, `${path} is empty`);
    // Not quoted: the file may hold a secret.
    if (!/^[\x21-\x7e]+$/.test(key) || (name === "access_key_path" && /[/,=]/.test(key))) {
      throw new UsageError(
        `--registration-arg ${name}`,
        `${path} does not hold one key on one line (printable ASCII, no spaces)`,
      );
    }
    return key;
  };
  const accessKeyId = args.access_key ?? fromFile("access_key_path");
  const secretAccessKey = args.secret_key ?? fromFile("secret_key_path");
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined;
  if (accessKeyId === undefined) {
    throw new UsageError(
      "--registration-arg access_key",
      "required with secret_key or secret_key_path (or neither, for the SDK's credential chain)",
    );
  }
  if (secretAccessKey === undefined) {
    throw new UsageError(
      "--registration-arg secret_key",
      "required with access_key or access_key_path (or neither, for the SDK's credential chain)",
    );
  }
  return { accessKeyId, secretAccessKey };
}
