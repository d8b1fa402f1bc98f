/**
 * `AuroraProxySource`: the members Aurora's announcer keeps for one job.
 *
 * @module
 */

import { checkName } from "../../config/checks.ts";
import type { AuroraSourceConfig } from "../../model/config.ts";
import { defineSourceKind } from "../kind.ts";
import { parsePreviousEndpoints } from "./previous_endpoints.ts";
import { AuroraSource } from "./aurora.ts";
import { checkAuroraName, checkZkServers, checkZnode } from "./checks.ts";

const SRC = "tellapart.aurproxy.source";

/** The Aurora source kind. */
export const auroraKind = defineSourceKind<AuroraSourceConfig>({
  kind: "aurora",
  canonical: `${SRC}.AuroraProxySource`,
  aliases: ["aurora", `${SRC}.AuroraSource`, `${SRC}.sources.aurora.AuroraProxySource`],
  parse: (f, common) => ({
    ...common,
    kind: "aurora",
    role: f.requiredString("role", checkAuroraName),
    environment: f.requiredString("environment", checkAuroraName),
    job: f.requiredString("job", checkAuroraName),
    zkServers: f.requiredString("zk_servers", checkZkServers),
    announcerServersetPath: f.stringOr("announcer_serverset_path", "/aurora/", checkZnode),
    endpoint: f.string("endpoint", checkName),
    // The original's AuroraProxySource passed no prefix on: every child of the job's path.
    zkMemberPrefix: f.string("zk_member_prefix", checkName),
    ...parsePreviousEndpoints(f),
  }),
  create: (c, deps) => new AuroraSource(c, deps),
});
