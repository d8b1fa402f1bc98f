/**
 * `ApiSource`: endpoints pushed over HTTP. Recognised, so configs naming it get a clear
 * answer, but not supported until the source itself lands in this folder.
 *
 * @module
 */

import { findClass } from "../../config/kind.ts";
import { UsageError } from "../../errors.ts";
import type { ApiSourceConfig } from "../../model/config.ts";
import { defineSourceKind } from "../kind.ts";

const SRC = "tellapart.aurproxy.source";

/** The original's `_DEFAULT_SOURCE_WHITELIST`: what an ApiSource may create unless told. */
export const API_SOURCE_WHITELIST: readonly string[] = Object.freeze([
  `${SRC}.StaticProxySource`,
  `${SRC}.AuroraProxySource`,
]);

/** The API source kind. */
export const apiKind = defineSourceKind<ApiSourceConfig>({
  kind: "api",
  canonical: `${SRC}.ApiSource`,
  aliases: ["api", `${SRC}.sources.api.ApiSource`],
  supported: false,
  parse: (f, common, ctx) => ({
    ...common,
    kind: "api",
    name: f.requiredString("name"),
    sourceWhitelist: f.has("source_whitelist")
      ? f.stringList(
        "source_whitelist",
        false,
        (s) =>
          findClass(ctx.kinds.sources, s) ? undefined : `unknown source class ${JSON.stringify(s)}`,
      )
      : API_SOURCE_WHITELIST,
  }),
  create: (c) => {
    throw new UsageError(`${c.path}.source_class`, "ApiSource is not supported yet");
  },
});
