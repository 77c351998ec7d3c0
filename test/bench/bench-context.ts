import type { BenchOptions } from "./bench-options.js";
import type { LoopDelay } from "./bench-protocol.js";
import type { BenchReport } from "./bench-report.js";
import { BenchServer, type StartServerOptions } from "./bench-server-process.js";
import type { JsonMessage, LoadGenerator, LoadRpc } from "./load-generator.js";

/** PeakResult is the best closed-loop throughput of one RPC and the p99 at half of it. */
export interface PeakResult {
  rps: number;
  concurrency: number;
  halfLoadP99Ms: number;
}

/** Measured holds the figures later sections and the target checks read. */
export interface Measured {
  limitOneCore?: number;
  limitAllCores?: number;
  oneCore: Partial<Record<LoadRpc, PeakResult>>;
  allCores: Partial<Record<LoadRpc, PeakResult>>;
  /** Tokens per second from one-core Refresh calls of several items each. */
  oneCoreBulkTokens?: number;
  /** Register latencies by "warm|cold" and bulk, in milliseconds. */
  register: Record<string, number[]>;
  /** The worst event-loop delay seen while keys were generated, in milliseconds. */
  keyGenerationLoopDelayMaxMs: number;
  /** Event-loop delay under full Refresh load, alone and with a Register running. */
  loopDelayUnderLoad?: LoopDelay & { aloneMaxMs: number };
  healthUnderLoad?: { label: string; maxMs: number; p99Ms: number };
  /** Refresh throughput by store and provider count. */
  scale: Record<string, number>;
}

/** BenchContext is what every section gets. */
export interface BenchContext {
  options: BenchOptions;
  report: BenchReport;
  load: LoadGenerator;
  /** Cores this process may use. */
  cores: number;
  measured: Measured;
}

/**
 * withServer starts a bench server, hands it to `work`, and stops it however
 * `work` ends, so no server outlives its section.
 */
export async function withServer<T>(
  options: StartServerOptions,
  work: (server: BenchServer) => Promise<T>,
): Promise<T> {
  const server = await BenchServer.start(options);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}

/** shuffled returns a copy in random order, so round-robin requests hit keys at random. */
export function shuffled<T>(values: readonly T[]): T[] {
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** refreshRequests turns refresh tokens into one-item Refresh requests. */
export function refreshRequests(tokens: readonly string[]): JsonMessage[] {
  return shuffled(tokens).map((refreshToken) => ({ items: [{ refreshToken }] }));
}

/** orchestratorRequests turns provider ids into one-item RefreshAsOrchestrator requests. */
export function orchestratorRequests(ids: readonly string[]): JsonMessage[] {
  return shuffled(ids).map((providerId) => ({ items: [{ providerId }] }));
}

/** sleep waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** mebibytes formats a byte count for the table. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
