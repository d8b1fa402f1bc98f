/**
 * Errors as values with a path and a reason until they reach the CLI, which prints
 * them and chooses the exit code.
 *
 * @module
 */

/** A problem with user input (flags or configuration). The CLI exits with code 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** e.g. `servers[0].routes[1].locations` or `--management-port`. */
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(path ? `${path}: ${reason}` : reason);
    this.path = path;
    this.reason = reason;
  }
}

/** Several {@linkcode UsageError}s found in one pass, so the operator fixes them all at once. */
export class UsageErrors extends Error {
  override name = "UsageErrors";
  readonly errors: readonly UsageError[];

  constructor(errors: readonly UsageError[]) {
    super(errors.map((e) => e.message).join("\n"));
    this.errors = errors;
  }
}

/** Exit code for usage and configuration errors. */
export const EXIT_USAGE = 2;
