/**
 * The hosts of a connect string, in the order a session tries them.
 *
 * @module
 */

/**
 * Hosts in random order, so a fleet of aurproxies spreads over the ensemble.
 *
 * @example
 * ```ts
 * shuffleHosts("zk1:2181, zk2:2181,zk3:2181"); // e.g. "zk3:2181,zk1:2181,zk2:2181"
 * ```
 */
export function shuffleHosts(connectString: string, random: () => number = Math.random): string {
  const hosts = connectString.split(",").map((h) => h.trim()).filter(Boolean);
  for (let i = hosts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [hosts[i], hosts[j]] = [hosts[j], hosts[i]];
  }
  return hosts.join(",");
}
