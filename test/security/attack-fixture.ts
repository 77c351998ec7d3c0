import type { JsonValue } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";

import type { ProviderStore } from "../../src/store/provider-store.js";
import { ApiError, connectClient, grpcClient, type ApiClient } from "../support/api-clients.js";
import { signCallerToken, type CallerClaims } from "../support/caller-tokens.js";
import { startTestService, type TestService } from "../support/running-service.js";
import { expectStoreUnchanged } from "../support/store-snapshot.js";
import type { HttpAnswer } from "./raw-requests.js";

/** The two transports every attack runs over. */
export const TRANSPORTS = ["grpc-js", "connect"] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** StoreFactory gives a service a store of the kind under test, and cleans it up after. */
export type StoreFactory = () => Promise<{ store: ProviderStore; dispose(): Promise<void> }>;

/** LogLine is one parsed line of the service's log. */
export type LogLine = Record<string, unknown> & { event: string };

/** CallEntry is one call a test made and the `call` lines the service wrote meanwhile. */
export interface CallEntry {
  rpc: string;
  transport: string;
  /** The domain code the answer stands for ("ok", "unauthenticated", ...). */
  outcome: string;
  /** The line count before the call, so that the lines it caused can be found after. */
  from: number;
  to: number;
}

// ApiError carries gRPC code names; the log carries the domain's codes.
const LOGGED_OUTCOME: Readonly<Record<string, string>> = { ABORTED: "conflict", OK: "ok" };

/** loggedOutcome is the `outcome` the log gives an answer with gRPC code name `code`. */
export function loggedOutcome(code: string): string {
  return LOGGED_OUTCOME[code] ?? code.toLowerCase();
}

/** Bearer is a token to send, "service" for the valid service token, or null for none. */
export type Bearer = string | "service" | null;

/**
 * AttackService is one running service with a client per transport, a
 * ledger of every call made to it, and the bearer tokens minted against it.
 */
export class AttackService {
  readonly calls: CallEntry[] = [];
  readonly minted: string[] = [];
  private readonly clients: Record<Transport, ApiClient>;
  private readonly grpcRaw: grpc.Client;
  private counter = 0;

  private constructor(
    readonly test: TestService,
    private readonly dispose: (() => Promise<void>) | undefined,
  ) {
    const url = test.service.url;
    this.clients = { "grpc-js": grpcClient(this.hostPort), connect: connectClient(url, "connect") };
    this.grpcRaw = new grpc.Client(this.hostPort, grpc.credentials.createInsecure());
    this.minted.push(test.serviceToken);
  }

  static async start(env: Record<string, string>, stores?: StoreFactory): Promise<AttackService> {
    const given = await stores?.();
    const test = await startTestService({ env, store: given?.store });
    return new AttackService(test, given?.dispose);
  }

  get url(): string {
    return this.test.service.url;
  }

  get hostPort(): string {
    return this.url.replace("http://", "");
  }

  get store(): ProviderStore {
    return this.test.service.store;
  }

  /** rawGrpc is a plain grpc-js client, for calls the typed clients cannot make. */
  get rawGrpc(): grpc.Client {
    return this.grpcRaw;
  }

  freshId(): string {
    this.counter += 1;
    return `attack-${process.pid}-${this.counter}`;
  }

  /** mint signs a caller token with the trusted key and remembers it for the log scan. */
  async mint(claims: CallerClaims): Promise<string> {
    const token = await signCallerToken(this.test.callerKey, claims);
    this.minted.push(token);
    return token;
  }

  /** logLines parses every line logged so far. */
  logLines(): LogLine[] {
    return this.test.logLines.map((line) => JSON.parse(line) as LogLine);
  }

  /** linesOf returns the `call` lines written while the entry's call ran. */
  linesOf(entry: CallEntry): LogLine[] {
    return this.logLines()
      .slice(entry.from, entry.to)
      .filter((line) => line.event === "call");
  }

  /** lastCall is the ledger entry of the call made last. */
  lastCall(): CallEntry {
    const entry = this.calls.at(-1);
    if (entry === undefined) throw new Error("no call was made yet");
    return entry;
  }

  /** record runs any request to the service and notes it in the ledger. */
  async record<T>(
    rpc: string,
    transport: string,
    send: () => Promise<T>,
    outcome: (t: T) => string,
  ) {
    const from = this.test.logLines.length;
    const answer = await send();
    this.calls.push({
      rpc,
      transport,
      outcome: outcome(answer),
      from,
      to: this.test.logLines.length,
    });
    return answer;
  }

  /** attempt makes one call over a transport; it resolves to the answer or to the ApiError. */
  async attempt(
    transport: Transport,
    rpc: string,
    request: object,
    bearer: Bearer = "service",
  ): Promise<Record<string, unknown> | ApiError> {
    const token = bearer === "service" ? this.test.serviceToken : (bearer ?? undefined);
    const send = () =>
      this.clients[transport].call(rpc, request as JsonValue, token).catch((error: unknown) => {
        if (error instanceof ApiError) return error;
        throw error;
      });
    return this.record(rpc, transport, send, (answer) =>
      answer instanceof ApiError ? loggedOutcome(answer.code) : "ok",
    );
  }

  /** call makes a call that must succeed. */
  async call(transport: Transport, rpc: string, request: object, bearer: Bearer = "service") {
    const answer = await this.attempt(transport, rpc, request, bearer);
    if (answer instanceof ApiError) throw answer;
    return answer;
  }

  /** refusal makes a call that must fail, asserts it changed nothing, and returns its error. */
  async refusal(
    transport: Transport,
    rpc: string,
    request: object,
    bearer: Bearer = "service",
  ): Promise<ApiError> {
    let error: ApiError | undefined;
    await expectStoreUnchanged(this.store, async () => {
      const answer = await this.attempt(transport, rpc, request, bearer);
      if (!(answer instanceof ApiError)) throw new Error(`${rpc} was expected to fail`);
      error = answer;
      throw answer;
    });
    return error!;
  }

  /**
   * refusedRaw sends a hand-made request that must be refused with an HTTP
   * error status, asserts it changed nothing, and returns the answer.
   */
  async refusedRaw(rpc: string, transport: string, send: () => Promise<HttpAnswer>) {
    const outcome = (a: HttpAnswer) => (a.status === 200 ? "ok" : `http_${a.status}`);
    const refused = await expectStoreUnchanged(this.store, async () => {
      const answer = await this.record(rpc, transport, send, outcome);
      if (answer.status === 200) return answer;
      throw answer;
    });
    return refused as HttpAnswer;
  }

  /** registerAndClaim makes a provider and returns its claim token and credentials. */
  async registerAndClaim(transport: Transport, id = this.freshId()) {
    const claimToken = await this.register(transport, id);
    const claimed = await this.call(transport, "Claim", { items: [{ claimToken }] });
    const credentials = (claimed.responses as Record<string, string>[])[0]!;
    return {
      id,
      claimToken,
      publicKey: credentials.publicKey!,
      refreshToken: credentials.refreshToken!,
    };
  }

  /** register makes a provider and returns its claim token. */
  async register(transport: Transport, id: string): Promise<string> {
    const registered = await this.call(transport, "Register", { items: [{ id }] });
    return (registered.responses as { claimToken: string }[])[0]!.claimToken;
  }

  /** refresh trades a refresh token for an access token. */
  async refresh(transport: Transport, refreshToken: string): Promise<string> {
    const answer = await this.call(transport, "Refresh", { items: [{ refreshToken }] }, null);
    return (answer.responses as { accessToken: string }[])[0]!.accessToken;
  }

  async close(): Promise<void> {
    for (const client of Object.values(this.clients)) client.close();
    this.grpcRaw.close();
    try {
      await this.test.close();
    } finally {
      await this.dispose?.();
    }
  }
}
