import { accessSync, constants, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import {
  connectionsFor,
  GRPC_METHODS,
  type LoadGenerator,
  type LoadResult,
  type LoadSpec,
  type RunningLoad,
} from "./load-generator.js";
import { findOrInstallPeer, peersBinDir, PEER_TOOLS } from "../peers/install-peers.js";
import { spawnPinned, watchCpu } from "./pinned-spawn.js";

/** The ghz release the bench is written against, pinned with the other test peers. */
export const GHZ_VERSION = PEER_TOOLS.ghz.version;

interface GhzReport {
  count: number;
  total: number;
  rps: number;
  slowest: number;
  errorDistribution: Record<string, number> | null;
  statusCodeDistribution: Record<string, number> | null;
  latencyDistribution: { percentage: number; latency: number }[] | null;
}

const NS_PER_MS = 1e6;

/**
 * findGhz returns the path of ghz under `<repo>/.cache/peers/bin`. With
 * `install` set it builds it there first when missing, as the test peers are
 * built (`GOBIN=<repo>/.cache/peers/bin go install ...@v0.121.0`).
 */
export async function findGhz(install: boolean): Promise<string | undefined> {
  const path = join(peersBinDir(), "ghz");
  if (isExecutable(path)) return path;
  if (!install) return undefined;
  try {
    return await findOrInstallPeer("ghz");
  } catch {
    return undefined;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** GhzLoad drives load with ghz, one process per run, limited to one Go thread. */
export class GhzLoad implements LoadGenerator {
  readonly description: string;
  private runs = 0;

  constructor(
    private readonly ghzPath: string,
    private readonly repoRoot: string,
    private readonly scratchDir: string,
  ) {
    this.description = `ghz ${GHZ_VERSION} (${ghzPath})`;
  }

  start(target: string, spec: LoadSpec): RunningLoad {
    mkdirSync(this.scratchDir, { recursive: true });
    const dataFile = join(this.scratchDir, `ghz-data-${process.pid}-${this.runs++}.json`);
    writeFileSync(dataFile, JSON.stringify(spec.requests));

    const args = [
      "--insecure",
      `--proto=${join(this.repoRoot, "proto/ucloud/auth/v1/auth_providers.proto")}`,
      `--import-paths=${join(this.repoRoot, "proto")}`,
      `--call=${GRPC_METHODS[spec.rpc]}`,
      `--data-file=${dataFile}`,
      `--concurrency=${spec.concurrency}`,
      `--connections=${connectionsFor(spec.concurrency)}`,
      `--duration=${spec.durationS}s`,
      "--duration-stop=wait",
      // One Go thread: the load must not take the server's core in the
      // all-cores rows any more than it has to.
      "--cpus=1",
      "--disable-template-functions",
      "--disable-template-data",
      "--format=json",
      ...(spec.rps === undefined ? [] : [`--rps=${Math.max(1, Math.round(spec.rps))}`]),
      ...(spec.authorization === undefined
        ? []
        : [`--metadata=${JSON.stringify({ authorization: spec.authorization })}`]),
      target,
    ];

    const child = spawnPinned(spec.cpus, this.ghzPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const cpu = watchCpu(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));

    const result = new Promise<LoadResult>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => {
        try {
          resolve({ ...summarise(JSON.parse(stdout) as GhzReport), cpuSeconds: cpu() });
        } catch {
          reject(new Error(`ghz failed (exit ${code}): ${stderr.trim() || stdout.slice(0, 500)}`));
        }
      });
    });
    // ghz prints its report for the time so far when interrupted.
    return { result, stop: () => child.kill("SIGINT") };
  }
}

function summarise(report: GhzReport): LoadResult {
  const codes = report.statusCodeDistribution ?? {};
  const ok = codes["OK"] ?? 0;
  const seconds = report.total / 1e9;
  const latency = (percentage: number) =>
    (report.latencyDistribution?.find((d) => d.percentage === percentage)?.latency ?? NaN) /
    NS_PER_MS;
  const errors = Object.entries(report.errorDistribution ?? {}).sort((a, b) => b[1] - a[1]);

  return {
    ok,
    errors: report.count - ok,
    seconds,
    rps: seconds > 0 ? ok / seconds : 0,
    p50Ms: latency(50),
    p99Ms: latency(99),
    maxMs: report.slowest / NS_PER_MS,
    firstError: errors[0]?.[0],
  };
}
