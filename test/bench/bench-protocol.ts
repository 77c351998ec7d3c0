/**
 * The messages between the bench and the server process it starts, over
 * Node's IPC channel. They exist only for the bench: the service itself has
 * no such channel, so nothing here widens its public API.
 */

/** ServerStatus is what the server process reports about itself. */
export interface ServerStatus {
  /** Key pairs waiting in the pool. */
  keyPoolReady: number;
  /** The pool size the service was configured with. */
  keyPoolSize: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Providers seeded so far. */
  seeded: number;
}

/** LoopDelay summarises event-loop delay since the last reset, in milliseconds. */
export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
  meanMs: number;
}

/** SeedResult names the seeded providers and their live refresh tokens, in the same order. */
export interface SeedResult {
  ids: string[];
  refreshTokens: string[];
  seconds: number;
}

/** ServerCalls maps each request type to its arguments and result. */
export interface ServerCalls {
  status: { args: Record<string, never>; result: ServerStatus };
  seed: { args: { count: number }; result: SeedResult };
  "loop-delay-reset": { args: Record<string, never>; result: null };
  "loop-delay-read": { args: Record<string, never>; result: LoopDelay };
  stop: { args: Record<string, never>; result: null };
}

/** ServerCallType names one request of ServerCalls. */
export type ServerCallType = keyof ServerCalls;

/** ServerRequest is one request as it travels to the server process. */
export interface ServerRequest {
  id: number;
  type: ServerCallType;
  args: ServerCalls[ServerCallType]["args"];
}

/** ServerReply answers the request with the same id. */
export type ServerReply =
  | { type: "reply"; id: number; ok: true; result: unknown }
  | { type: "reply"; id: number; ok: false; error: string };

/** ServerReady is the first message of a started server process. */
export interface ServerReady {
  type: "ready";
  port: number;
  developmentToken: string;
  availableParallelism: number;
}

/** BenchServerOptions are handed to the server process as its one argument, in JSON. */
export interface BenchServerOptions {
  /** The name of a store factory in store-factories.ts. */
  store: string;
  /** Where the store's server is, for stores that have one. */
  storeUri?: string;
}
