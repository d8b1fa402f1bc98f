/**
 * `ApiSource`: sources added and removed over HTTP on the management port. Keys: `name`
 * (required; part of its routes, `/api/source/<name>/...`), `source_whitelist` (the class
 * paths a PUT may name; default the static and Aurora sources, as the original) and the
 * common `share_adjusters`, which apply to every endpoint of every managed source.
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

/** URL-safe as it is: the name is a segment of the API's paths. */
const API_NAME = /^[A-Za-z0-9._~-]{1,100}$/;

function checkApiName(s: string): string | undefined {
  return API_NAME.test(s) ? undefined : `expected letters, digits, ".", "_", "~" or "-" ` +
    `(at most 100; the name is part of the API's URLs), got ${JSON.stringify(s)}`;
}

/** The API source kind. */
export const apiKind = defineSourceKind<ApiSourceConfig>({
  kind: "api",
  canonical: `${SRC}.ApiSource`,
  aliases: ["api", `${SRC}.sources.api.ApiSource`],
  parse: (f, common, ctx) => {
    const given = f.has("source_whitelist");
    const list = f.stringList("source_whitelist", false, (s) => {
      const k = findClass(ctx.kinds.sources, s);
      if (!k) return `unknown source class ${JSON.stringify(s)}`;
      if (k.kind === "api") return "an ApiSource cannot manage ApiSources";
      return undefined;
    });
    return {
      ...common,
      kind: "api",
      name: f.requiredString("name", checkApiName),
      sourceWhitelist: given ? list : API_SOURCE_WHITELIST,
    };
  },
  create: (c, deps) => {
    if (!deps.api) {
      throw new UsageError(
        `${c.path}.source_class`,
        "an ApiSource needs the management port, which this command does not serve",
      );
    }
    return deps.api.create(c);
  },
});
