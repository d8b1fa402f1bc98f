/**
 * The HAProxy entry of the backend table: `"backend": "haproxy"`.
 *
 * @module
 */

import { type BackendEntry, defineBackend } from "../table.ts";
import { HaproxyBackend } from "./backend.ts";
import { type HaproxyOptions, parseHaproxyOptions } from "./options.ts";

/** HAProxy: membership and weights through the runtime API, a seamless reload for structure. */
export const haproxyBackend: BackendEntry<HaproxyOptions> = defineBackend<HaproxyOptions>({
  name: "haproxy",
  parseOptions: parseHaproxyOptions,
  configurationFile: (options) => options.configurationFile,
  checkCommand: "haproxy -c",
  create: (options, deps) => new HaproxyBackend(options, deps),
});
