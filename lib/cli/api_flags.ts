/**
 * The flags of the ApiSource's HTTP API, shared by `run` and `run_replay`.
 *
 * This file imports only types from `./flags.ts`, which spreads {@linkcode API_FLAGS}
 * into the `run` table (a value import back would be a cycle).
 *
 * @module
 */

import type { FlagTable, FlagValues } from "./flags.ts";

/** `--api-token-file`. */
export const API_FLAGS: FlagTable = {
  "api-token-file": {
    type: "string",
    help: "File holding a bearer token that PUT and DELETE of an ApiSource's routes must " +
      "carry (Authorization: Bearer <token>); read at start-up. Without it they need none.",
  },
};

/** `--api-token-file`, when given. */
export function apiTokenFile(v: FlagValues): string | undefined {
  const f = v["api-token-file"];
  return typeof f === "string" && f !== "" ? f : undefined;
}
