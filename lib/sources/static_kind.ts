/**
 * `StaticProxySource`: one fixed endpoint, `{"name", "host", "port"}`.
 *
 * @module
 */

import { checkHost } from "../config/checks.ts";
import type { StaticSourceConfig } from "../model/config.ts";
import { defineSourceKind } from "./kind.ts";
import { StaticSource } from "./static.ts";

const SRC = "tellapart.aurproxy.source";

/** The static source kind. */
export const staticKind = defineSourceKind<StaticSourceConfig>({
  kind: "static",
  canonical: `${SRC}.StaticProxySource`,
  aliases: ["static", `${SRC}.StaticSource`, `${SRC}.sources.static.StaticProxySource`],
  // The original's StaticProxySource took **kwargs and read only these three.
  ignoresUnknownKeys: true,
  parse: (f, common) => ({
    ...common,
    kind: "static",
    name: f.requiredString("name"),
    host: f.requiredString("host", checkHost),
    port: f.number("port", { required: true, min: 1, max: 65535, integer: true }),
  }),
  create: (c) => new StaticSource(c),
});
