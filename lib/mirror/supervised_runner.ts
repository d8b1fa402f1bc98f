/**
 * Runs the launch script as aurproxy's own child (`--mirror-supervise`,
 * `--replay-supervise`): one process does everything, no Thermos `gor_process` needed.
 * The script is started once the first one is written and restarted (stop, then start:
 * gor has no reload) whenever it changes; a gor that dies is restarted with backoff; gor's
 * output goes into aurproxy's log as `gor: …` lines; on shutdown it is stopped with its
 * whole process group.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { BackoffPolicy } from "../process/backoff.ts";
import { Supervisor, type SupervisorStatus } from "../process/supervisor.ts";
import type { MirrorCommand } from "./gor_script.ts";
import type { MirrorRunner } from "./mirror_updater.ts";

export interface SupervisedRunnerOptions {
  /** The launch script; run directly, so its mode and `#!/bin/bash` line count. */
  readonly commandPath: string;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** How long gor has after SIGTERM before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  readonly backoff?: Partial<BackoffPolicy>;
}

/**
 * @example
 * ```ts
 * import { memoryLogger } from "../log.ts";
 * import { mirrorCommand } from "./gor_script.ts";
 *
 * const dir = await Deno.makeTempDir(); // stands for /etc/aurproxy/gor
 * const commandPath = `${dir}/dynamic.sh`;
 * await Deno.writeTextFile(commandPath, "#!/bin/bash\nexec sleep 60\n", { mode: 0o755 });
 * const runner = new SupervisedRunner({ commandPath, logger: memoryLogger() });
 * // given to a MirrorUpdater as `runner`; its status shows on the status page
 * const spec = { mode: "mirror", gorPath: "/opt/go/bin/gor", pidPath: `${dir}/pid`, ports: [8080], maxQps: 100 } as const;
 * await runner.apply(mirrorCommand(spec, []), true); // the first script: started
 * runner.status().state; // "starting", "running" once it has stayed up
 * await runner.stop();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SupervisedRunner implements MirrorRunner {
  readonly #supervisor: Supervisor;
  #started = false;

  constructor(o: SupervisedRunnerOptions) {
    this.#supervisor = new Supervisor({
      name: "gor",
      argv: [o.commandPath],
      logger: o.logger,
      clock: o.clock,
      stopTimeoutMs: o.stopTimeoutMs ?? 5_000,
      backoff: o.backoff,
      stdout: "log",
      stderr: "log",
    });
  }

  /** Starts the script the first time; restarts it when it changed. */
  async apply(_want: MirrorCommand, changed: boolean): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      this.#supervisor.start();
    } else if (changed) {
      await this.#supervisor.restart();
    }
  }

  /** Stops the child and its process group. */
  async stop(): Promise<void> {
    await this.#supervisor.stop();
  }

  status(): SupervisorStatus {
    return this.#supervisor.status();
  }
}
