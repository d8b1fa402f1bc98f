/**
 * "Did you mean ...?" for misspelled config keys and class names: a close edit distance,
 * or a truncated/extended key (`nginx_pid` for `nginx_pid_path`).
 *
 * @module
 */

import { suggest } from "../text/suggest.ts";

/** Shortest word the prefix rule applies to: shorter ones prefix too much. */
const MIN_PREFIX = 4;

/**
 * The candidate `word` most likely meant, or undefined when none is close.
 *
 * @example
 * ```ts
 * didYouMean("location", ["locations", "sources"]);        // "locations"
 * didYouMean("nginx_pid", ["nginx_pid_path", "stats_port"]); // "nginx_pid_path"
 * didYouMean("zzz", ["servers"]);                           // undefined
 * ```
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const close = suggest(word, candidates);
  if (close !== undefined || word.length < MIN_PREFIX) return close;
  const w = word.toLowerCase();
  const related = candidates.filter((c) => {
    const l = c.toLowerCase();
    return l.startsWith(w) || (c.length >= MIN_PREFIX && w.startsWith(l));
  });
  return related.length === 1 ? related[0] : undefined;
}
