/**
 * The nginx entry of the backend table: `"backend": "nginx"`.
 *
 * @module
 */

import { type BackendEntry, defineBackend } from "../table.ts";
import { NginxBackend } from "./backend.ts";
import { type NginxOptions, parseNginxOptions } from "./options.ts";

/** nginx: renders nginx.conf, checks it with `nginx -t`, swaps it and reloads. */
export const nginxBackend: BackendEntry<NginxOptions> = defineBackend<NginxOptions>({
  name: "nginx",
  parseOptions: parseNginxOptions,
  configurationFile: (options) => options.configurationFile,
  checkCommand: "nginx -t",
  create: (options, deps) => new NginxBackend(options, deps),
});
