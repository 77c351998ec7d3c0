import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU sets the bench pins processes to: the server on one core, load on the other. */
export const SERVER_CORE = "0";
/** The core the load generator runs on while the server is pinned to SERVER_CORE. */
export const LOAD_CORE = "1";

let tasksetFound: boolean | undefined;

/** hasTaskset tells whether util-linux's taskset can pin processes here. */
export function hasTaskset(): boolean {
  tasksetFound ??= spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
  return tasksetFound;
}

/**
 * spawnPinned starts a command on the given CPU list (e.g. "0"), or on every
 * core when `cpus` is undefined. Without taskset the process runs unpinned,
 * and the bench's report says so.
 */
export function spawnPinned(
  cpus: string | undefined,
  command: string,
  args: readonly string[],
  options: SpawnOptions,
): ChildProcess {
  if (cpus === undefined || !hasTaskset()) return spawn(command, args, options);
  return spawn("taskset", ["-c", cpus, command, ...args], options);
}

// Linux reports process times in clock ticks of 1/100 s on every common build.
const TICKS_PER_SECOND = 100;
const CPU_POLL_MS = 200;

/**
 * watchCpu samples a child's user+system CPU time from /proc while it runs
 * and returns a function that reads the last sample, in seconds. taskset
 * execs its command, so the pid is the load generator's own. Elsewhere than
 * Linux it reads undefined.
 */
export function watchCpu(child: ChildProcess): () => number | undefined {
  let seconds: number | undefined;
  const sample = () => {
    try {
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      // Fields after the parenthesised command name; utime and stime are 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    } catch {
      // The process has gone; keep the last sample.
    }
  };
  const timer = setInterval(sample, CPU_POLL_MS);
  child.once("exit", () => clearInterval(timer));
  sample();
  return () => seconds;
}
