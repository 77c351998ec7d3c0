import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import type { LoadGenerator, LoadResult, LoadSpec, RunningLoad } from "./load-generator.js";
import type { NodeLoadJob } from "./node-load-child.js";
import { spawnPinned, watchCpu } from "./pinned-spawn.js";

const CHILD_ENTRY = fileURLToPath(new URL("./node-load-child.js", import.meta.url));

/**
 * NodeLoad is the fallback load generator: a @grpc/grpc-js process per run.
 * It needs nothing beyond the project's dev dependencies, but it spends more
 * CPU per call than ghz, so it saturates sooner on a shared core.
 */
export class NodeLoad implements LoadGenerator {
  readonly description: string;
  private runs = 0;

  constructor(
    private readonly scratchDir: string,
    reason: string,
  ) {
    this.description = `node @grpc/grpc-js load process (${reason})`;
  }

  start(target: string, spec: LoadSpec): RunningLoad {
    mkdirSync(this.scratchDir, { recursive: true });
    const jobFile = join(this.scratchDir, `node-load-${process.pid}-${this.runs++}.json`);
    const job: NodeLoadJob = { target, spec };
    writeFileSync(jobFile, JSON.stringify(job));

    const child = spawnPinned(spec.cpus, process.execPath, [CHILD_ENTRY, jobFile], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const cpu = watchCpu(child);
    let stdout = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));

    const result = new Promise<LoadResult>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => {
        try {
          resolve({ ...(JSON.parse(stdout) as LoadResult), cpuSeconds: cpu() });
        } catch {
          reject(new Error(`node load process failed (exit ${code})`));
        }
      });
    });
    return { result, stop: () => child.kill("SIGINT") };
  }
}
