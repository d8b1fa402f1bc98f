/**
 * Environment variables set for the length of a `using` block, then restored: AWS SDK
 * clients read their endpoint and credentials from the environment, as a user's would.
 *
 * @module
 */

/**
 * Sets (or, for `undefined`, removes) `vars` until the returned value is disposed.
 *
 * @example
 * ```ts
 * using _env = withEnv({ AWS_ENDPOINT_URL: aws.url });
 * ```
 */
export function withEnv(vars: Record<string, string | undefined>): Disposable {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) Deno.env.delete(k);
      else Deno.env.set(k, x);
    }
  };
  apply(vars);
  return { [Symbol.dispose]: () => apply(saved) };
}
