/**
 * Signalling a running nginx master and confirming that a reload took: after SIGHUP, a
 * master that accepted the new config starts new worker processes; one that rejected it
 * (say, a port it cannot bind) keeps its old workers and logs the error.
 *
 * @module
 */

/** The master pid from the pid file, if that process is alive. */
export async function readMasterPid(pidPath: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(pidPath);
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isAlive(pid) ? pid : undefined;
}

/**
 * A file under `/proc`. Deno 2 reads `/proc` only with `--allow-all`, which `deno task
 * run` (and the compiled binary) does not grant: then `cat` reads it, under
 * `--allow-run`. Throws when the file is gone.
 */
function readProc(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
    const out = new Deno.Command("cat", { args: [path], stdin: "null", stderr: "null" })
      .outputSync();
    if (!out.success) throw new Deno.errors.NotFound(path);
    return new TextDecoder().decode(out.stdout);
  }
}

/** The entries of `/proc` (see {@linkcode readProc}). */
function procEntries(): string[] {
  try {
    return [...Deno.readDirSync("/proc")].map((e) => e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotCapable)) throw err;
    const out = new Deno.Command("ls", { args: ["/proc"], stdin: "null", stderr: "null" })
      .outputSync();
    return new TextDecoder().decode(out.stdout).split(/\s+/).filter(Boolean);
  }
}

/** True when a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readProc(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Pids of the direct children of `pid` (nginx workers and cache processes). */
export function childPids(pid: number): Set<number> {
  try {
    const text = readProc(`/proc/${pid}/task/${pid}/children`);
    return new Set(text.trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process's parent.
    const out = new Set<number>();
    for (const name of procEntries()) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readProc(`/proc/${name}/stat`);
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === pid) out.add(Number(name));
      } catch {
        // The process exited while we looked.
      }
    }
    return out;
  }
}

function cmdline(pid: number): string {
  try {
    return readProc(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * An old worker no longer accepts connections once it has exited or says it is shutting
 * down. A child just forked still carries the master's title and will accept: not retired.
 * Cache manager and loader processes never accept connections.
 */
function retired(pid: number): boolean {
  if (!isAlive(pid)) return true;
  const cmd = cmdline(pid);
  return cmd.includes("shutting down") || cmd.includes("cache manager") ||
    cmd.includes("cache loader");
}

/** Worker processes of the master `pid` that are up and accepting. */
export function activeWorkers(pid: number): Set<number> {
  return new Set(
    [...childPids(pid)].filter((c) => {
      const cmd = cmdline(c);
      return cmd.includes("worker process") && !cmd.includes("shutting down");
    }),
  );
}

/**
 * Sends SIGHUP to `pid` and waits up to `timeoutMs` until the reload took: a worker that
 * was not there before runs, and every previous worker has exited or is shutting down
 * (nginx retitles it "worker process is shutting down" once it stopped accepting). From
 * then on every new connection gets the new config.
 *
 * A master that has just started may still be forking its first workers; one forked after
 * we looked would be missed as "previous". So first wait (briefly) until
 * `expectedWorkers` are running.
 */
export async function reloadAndConfirm(
  pid: number,
  timeoutMs: number,
  expectedWorkers = 1,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const settleBy = Math.min(deadline, Date.now() + 2000);
  while (activeWorkers(pid).size < expectedWorkers && Date.now() < settleBy) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const before = childPids(pid);
  Deno.kill(pid, "SIGHUP");
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    if (!isAlive(pid)) return false;
    const now = childPids(pid);
    const started = [...now].some((c) => !before.has(c));
    if (started && [...before].every(retired)) return true;
  }
  return false;
}
