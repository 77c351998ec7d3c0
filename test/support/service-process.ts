import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

/** MAIN is the built entry point that `npm start` runs. */
export const MAIN = resolve(import.meta.dirname, "../../dist/src/main.js");

/** ServiceProcess is the service running as its own process, as an operator runs it. */
export interface ServiceProcess {
  child: ChildProcess;
  /** e.g. http://127.0.0.1:41234, from the service's `listening` log line. */
  url: string;
  stdout(): string;
  stderr(): string;
  /** stop sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * startServiceProcess runs `node dist/src/main.js` with only `env` (plus
 * PATH and a free port) and waits until it listens and, when `waitFor` is
 * given, until its stderr shows that text.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  waitFor?: string,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, PROVIDER_AUTH_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));

  const ready = () =>
    stdout.includes('"listening"') && (waitFor === undefined || stderr.includes(waitFor));
  const deadline = Date.now() + 30_000;
  while (!ready()) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the service did not start (exit ${child.exitCode}); stderr: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const listening = stdout.split("\n").find((line) => line.includes('"listening"'))!;
  return {
    child,
    url: (JSON.parse(listening) as { url: string }).url,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}
