/**
 * The backends this build knows: the values `"backend"` may take.
 *
 * @module
 */

import { haproxyBackend } from "./haproxy/kind.ts";
import { nginxBackend } from "./nginx/kind.ts";
import type { BackendEntry } from "./table.ts";

/** Every backend entry. */
export const BACKENDS: readonly BackendEntry[] = Object.freeze([nginxBackend, haproxyBackend]);
