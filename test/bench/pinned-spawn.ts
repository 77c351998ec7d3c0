import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from "node:child_process";

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
