/**
 * Shutdown handlers, run once whatever asks first: `/quitquitquit`, `/abortabortabort`,
 * SIGTERM or SIGINT. Handlers run in reverse order of registration (last started, first
 * stopped), each bounded in time so a stuck one cannot keep the process alive.
 *
 * @module
 */

import type { Logger } from "../log.ts";

export type ShutdownHandler = () => void | Promise<void>;

export class Shutdown {
  readonly #handlers: { name: string; fn: ShutdownHandler }[] = [];
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #done?: Promise<void>;

  constructor(logger: Logger, timeoutMs = 10_000) {
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Registers a handler; `name` appears in logs. */
  add(name: string, fn: ShutdownHandler): void {
    this.#handlers.push({ name, fn });
  }

  /** True once shutdown has begun. */
  get started(): boolean {
    return this.#done !== undefined;
  }

  /** Runs every handler once; later calls return the same promise. */
  run(reason: string): Promise<void> {
    this.#done ??= (async () => {
      this.#logger.info(`shutting down (${reason})`);
      for (const { name, fn } of [...this.#handlers].reverse()) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(fn),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`timed out after ${this.#timeoutMs} ms`)),
                this.#timeoutMs,
              );
            }),
          ]);
        } catch (err) {
          this.#logger.error(`shutdown handler ${name} failed`, err);
        } finally {
          clearTimeout(timer);
        }
      }
      this.#logger.info("shutdown complete");
    })();
    return this.#done;
  }
}
