/**
 * OS signals that ask aurproxy to stop (SIGTERM from Aurora or an init system, SIGINT
 * from a terminal), as one subscription the shutdown sequence can undo.
 *
 * @module
 */

/** The signals that mean "shut down". */
export const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGTERM", "SIGINT"];

/**
 * Calls `onSignal` with the signal's name on each of `signals`; returns a function that
 * removes the listeners (a shutdown step of the `close` phase).
 *
 * @example
 * ```ts
 * const stopListening = listenForSignals(STOP_SIGNALS, (sig) => console.log(`${sig}: stopping`));
 * // In the wiring: shutdown.add("close", "signal listeners", stopListening);
 * stopListening();
 * ```
 */
export function listenForSignals(
  signals: readonly Deno.Signal[],
  onSignal: (signal: Deno.Signal) => void,
): () => void {
  const listeners = signals.map((s) => [s, () => onSignal(s)] as const);
  for (const [s, fn] of listeners) Deno.addSignalListener(s, fn);
  return () => {
    for (const [s, fn] of listeners) Deno.removeSignalListener(s, fn);
  };
}
