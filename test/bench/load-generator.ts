/** LoadRpc names the calls the bench puts load on. */
export type LoadRpc = "Refresh" | "RefreshAsOrchestrator" | "RetrievePublicKey";

/** JsonMessage is a request message in its proto3 JSON form. */
export type JsonMessage = Record<string, unknown>;

/** LoadSpec describes one bounded load run. */
export interface LoadSpec {
  rpc: LoadRpc;
  /** Request messages, sent round-robin; shuffle them for random access. */
  requests: readonly JsonMessage[];
  /** Requests in flight at once (closed loop), or workers serving the rate. */
  concurrency: number;
  /** The run stops by itself after this many seconds. */
  durationS: number;
  /** A constant request rate; unset means as fast as the server answers. */
  rps?: number;
  /** Sent as the authorization header, e.g. "Bearer ...". */
  authorization?: string;
  /** A taskset CPU list for the load process, or undefined for all cores. */
  cpus: string | undefined;
}

/** LoadResult summarises a run; latencies are of successful calls, in milliseconds. */
export interface LoadResult {
  ok: number;
  errors: number;
  seconds: number;
  /** Successful calls per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The most frequent error, if any call failed. */
  firstError: string | undefined;
  /** CPU seconds the load process used, where the system tells. */
  cpuSeconds?: number;
}

/** RunningLoad is a started run; stop ends it early and still yields its result. */
export interface RunningLoad {
  readonly result: Promise<LoadResult>;
  stop(): void;
}

/** LoadGenerator runs load against a server on 127.0.0.1. */
export interface LoadGenerator {
  /** What the report says about the tool, e.g. "ghz 0.121.0 (.cache/peers/bin/ghz)". */
  readonly description: string;
  start(target: string, spec: LoadSpec): RunningLoad;
}

/** GRPC_METHODS maps each load RPC to its full gRPC method name. */
export const GRPC_METHODS: Readonly<Record<LoadRpc, string>> = {
  Refresh: "ucloud.auth.v1.AuthProvidersService.Refresh",
  RefreshAsOrchestrator: "ucloud.auth.v1.AuthProvidersService.RefreshAsOrchestrator",
  RetrievePublicKey: "ucloud.auth.v1.AuthProvidersService.RetrievePublicKey",
};

/** connectionsFor spreads concurrency over a few HTTP/2 connections, as many providers would. */
export function connectionsFor(concurrency: number): number {
  return Math.max(1, Math.min(8, Math.floor(concurrency / 8)));
}

/** runLoad starts a run and waits for its result. */
export function runLoad(generator: LoadGenerator, target: string, spec: LoadSpec) {
  return generator.start(target, spec).result;
}

/**
 * bestOf runs the same load `runs` times and keeps the best: the highest
 * throughput, or with `lowestP99` the lowest p99. Other processes on the
 * machine only ever take CPU away, so the best run is the least disturbed.
 */
export async function bestOf(
  runs: number,
  run: () => Promise<LoadResult>,
  lowestP99 = false,
): Promise<LoadResult & { runs: number }> {
  let best = await run();
  for (let i = 1; i < runs; i++) {
    const next = await run();
    const better = lowestP99 ? next.p99Ms < best.p99Ms : next.rps > best.rps;
    if (better) best = next;
  }
  return { ...best, runs };
}
