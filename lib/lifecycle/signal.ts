/**
 * A minimal "something changed" notification. Sources and adjusters emit it; the
 * updater listens. Listeners carry no payload on purpose: consumers re-read current
 * state, so a burst of changes collapses into one re-read.
 *
 * @module
 */

export type Unsubscribe = () => void;

export class ChangeSignal {
  #listeners = new Set<() => void>();

  /** Registers `fn`; returns a function that removes it. */
  subscribe(fn: () => void): Unsubscribe {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Calls every listener; a throwing listener does not stop the others. */
  emit(): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn();
      } catch (err) {
        console.error("aurproxy: change listener failed:", err);
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
