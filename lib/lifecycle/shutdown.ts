/**
 * The shutdown sequence, run once whatever asks first: `/quitquitquit`,
 * `/abortabortabort`, SIGTERM or SIGINT. Features add named steps to it in the wiring, each
 * in one of four phases, run in this order:
 *
 * 1. `deregister`: stop taking traffic (leave the load balancer, DNS);
 * 2. `flush`: finish the update in flight, write what is pending (state file);
 * 3. `stop_children`: stop processes aurproxy runs (a supervised proxy, gor);
 * 4. `close`: stop sources, close connections (ZooKeeper), the management port, signals.
 *
 * Within a phase, steps run one after another in the order they were added. Each step is
 * bounded by a deadline, so a stuck one cannot keep the process alive; a step that fails
 * or times out is logged and the rest still run.
 *
 * @module
 */

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import type { Logger } from "../log.ts";

/** The phases, in the order they run. */
export const SHUTDOWN_PHASES = ["deregister", "flush", "stop_children", "close"] as const;

export type ShutdownPhase = typeof SHUTDOWN_PHASES[number];

export type ShutdownStep = () => void | Promise<void>;

export interface ShutdownOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Default deadline of a step (10 s). */
  readonly stepTimeoutMs?: number;
}

interface Step {
  readonly phase: ShutdownPhase;
  readonly name: string;
  readonly fn: ShutdownStep;
  readonly timeoutMs: number;
}

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 *
 * const shutdown = new ShutdownSequence({ logger: memoryLogger() });
 * shutdown.add("close", "zookeeper", () => console.log("sessions closed"), { timeoutMs: 5000 });
 * shutdown.add("flush", "state file", () => console.log("state written")); // runs first
 * await shutdown.run("SIGTERM");
 * ```
 */
export class ShutdownSequence {
  readonly #steps: Step[] = [];
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  #done?: Promise<void>;

  constructor(o: ShutdownOptions) {
    this.#logger = o.logger;
    this.#clock = o.clock ?? systemClock;
    this.#timeoutMs = o.stepTimeoutMs ?? 10_000;
  }

  /**
   * Adds a step to `phase`; `name` appears in logs. A step added once the sequence runs is
   * run too if its phase has not begun, else it is logged and never run.
   */
  add(
    phase: ShutdownPhase,
    name: string,
    fn: ShutdownStep,
    opts: { readonly timeoutMs?: number } = {},
  ): void {
    this.#steps.push({ phase, name, fn, timeoutMs: opts.timeoutMs ?? this.#timeoutMs });
  }

  /** The steps, in the order they run. */
  steps(): { readonly phase: ShutdownPhase; readonly name: string }[] {
    return this.#ordered().map(({ phase, name }) => ({ phase, name }));
  }

  /** True once the sequence has begun. */
  get started(): boolean {
    return this.#done !== undefined;
  }

  /**
   * Runs every step once; later calls return the same promise. `quiet` logs the start and
   * end at debug level (a one-shot command closing what it opened, not a shutdown).
   */
  run(reason: string, opts: { readonly quiet?: boolean } = {}): Promise<void> {
    const say = (msg: string) => opts.quiet ? this.#logger.debug(msg) : this.#logger.info(msg);
    this.#done ??= (async () => {
      say(`shutting down (${reason})`);
      const ran = new Set<Step>();
      for (const phase of SHUTDOWN_PHASES) {
        // Re-read each time: a step may add another to a later phase.
        for (let step = this.#next(phase, ran); step; step = this.#next(phase, ran)) {
          ran.add(step);
          await this.#runStep(step);
        }
      }
      for (const s of this.#steps) {
        if (!ran.has(s)) this.#logger.warn(`shutdown step ${s.phase}/${s.name} added too late`);
      }
      say("shutdown complete");
    })();
    return this.#done;
  }

  #next(phase: ShutdownPhase, ran: ReadonlySet<Step>): Step | undefined {
    return this.#steps.find((s) => s.phase === phase && !ran.has(s));
  }

  #ordered(): Step[] {
    return SHUTDOWN_PHASES.flatMap((p) => this.#steps.filter((s) => s.phase === p));
  }

  async #runStep(step: Step): Promise<void> {
    let timer: TimerId | undefined;
    try {
      this.#logger.debug(`shutdown: ${step.phase}/${step.name}`);
      await Promise.race([
        Promise.resolve().then(step.fn),
        new Promise((_, reject) => {
          timer = this.#clock.setTimeout(
            () => reject(new Error(`timed out after ${step.timeoutMs} ms`)),
            step.timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      this.#logger.error(`shutdown step ${step.phase}/${step.name} failed`, err);
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
  }
}
