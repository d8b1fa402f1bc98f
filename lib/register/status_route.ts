/**
 * Self registration on the management port: `GET /status/registration.json` answers
 * {@linkcode SelfRegistrationStatus} (state, attempts, the last error, when it was
 * registered or will be retried), mounted in the wiring's {@linkcode RouteRegistry} so
 * the management server needs to know nothing of registration. `/health/details` has the
 * same in one line.
 *
 * @module
 */

import type { RouteRegistry } from "../management/routes.ts";
import type { SelfRegistrationStatus } from "./self_registration.ts";

/** The path of the route. */
export const REGISTRATION_STATUS_PATH = "/status/registration.json";

/**
 * Mounts `GET /status/registration.json` for `registration`.
 *
 * @example
 * ```ts
 * import { RouteRegistry } from "../management/routes.ts";
 * import type { SelfRegistration } from "./self_registration.ts";
 *
 * function mount(routes: RouteRegistry, registration: SelfRegistration) {
 *   mountRegistrationStatus(routes, registration); // GET /status/registration.json
 * }
 * ```
 */
export function mountRegistrationStatus(
  routes: RouteRegistry,
  registration: { status(): SelfRegistrationStatus },
): void {
  routes.add("registration", {
    method: "GET",
    path: REGISTRATION_STATUS_PATH,
    handler: () =>
      new Response(JSON.stringify(registration.status(), null, 2) + "\n", {
        headers: { "content-type": "application/json" },
      }),
  });
}
