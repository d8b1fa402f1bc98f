/**
 * `AuroraProxySource` (also `AuroraSource`): the serverset Aurora's announcer keeps at
 * `<announcer_serverset_path>/<role>/<environment>/<job>`.
 *
 * @module
 */

import type { AuroraSourceConfig } from "../../model/config.ts";
import { normalizeZkPath, type RegistrySourceDeps } from "./source.ts";
import { ServerSetSource } from "./serverset.ts";

/** The job's serverset path, slashes normalised: ("sd/x", "r", "e", "j") → "/sd/x/r/e/j". */
export function auroraJobPath(
  c: Pick<AuroraSourceConfig, "announcerServersetPath" | "role" | "environment" | "job">,
): string {
  return normalizeZkPath(c.announcerServersetPath, c.role, c.environment, c.job);
}

/** Named like `aurora:zk1:2181/aurora/www-data/prod/web#http` (see `registrySourceName`). */
export class AuroraSource extends ServerSetSource {
  constructor(
    c: Omit<AuroraSourceConfig, "kind" | "path" | "shareAdjusters">,
    deps: RegistrySourceDeps,
  ) {
    super(
      {
        zkServers: c.zkServers,
        zkPath: auroraJobPath(c),
        endpoint: c.endpoint,
        zkMemberPrefix: c.zkMemberPrefix,
        previousEndpoints: c.previousEndpoints,
      },
      deps,
      "aurora",
    );
  }
}
