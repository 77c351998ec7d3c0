import { authorize, CALL_POLICY, type RpcName } from "../auth/call-policy.js";
import type { Clock } from "../domain/clock.js";
import { DomainError, internalError, isDomainError } from "../domain/errors.js";
import type { FailureThrottle } from "../auth/failure-throttle.js";
import type { Caller, CallerTokenVerifier } from "../jwt/caller-tokens.js";
import type { Logger } from "../log/logger.js";

/** CallContext is what every transport knows about an incoming call. */
export interface CallContext {
  rpc: RpcName;
  /** The raw `authorization` header, if any. */
  authorization: string | undefined;
  /** The client's address, for the log and for throttling. */
  peer: string;
  /** "grpc", "grpc-web", "connect" or "ucloud-json". */
  protocol: string;
}

/** CallRecord collects what the log line of a call says beyond its outcome. */
export interface CallRecord {
  caller: Caller | undefined;
  items: number | undefined;
  providerIds: string[];
}

export interface CallBoundaryOptions {
  verifier: CallerTokenVerifier;
  orchestrators: ReadonlySet<string>;
  logger: Logger;
  clock: Clock;
  throttle: FailureThrottle;
}

// The calls whose failures are guesses at a secret token.
const THROTTLED_RPCS: ReadonlySet<RpcName> = new Set(["Refresh", "Claim"]);

/**
 * CallBoundary is where every call enters, whatever its transport: it
 * authenticates and authorises the caller, runs the domain call, writes the
 * one log line of the call, and hands back a DomainError for any failure
 * (unexpected faults become a bare `internal`). Transports only translate.
 */
export class CallBoundary {
  constructor(private readonly options: CallBoundaryOptions) {}

  /** run performs one call; the error it throws is always a DomainError. */
  async run<T>(context: CallContext, work: (record: CallRecord) => Promise<T>): Promise<T> {
    const started = this.options.clock.now();
    const record: CallRecord = { caller: undefined, items: undefined, providerIds: [] };

    const throttled = THROTTLED_RPCS.has(context.rpc);
    try {
      if (throttled && this.options.throttle.isBlocked(context.peer, started)) {
        throw tooManyFailures();
      }
      record.caller = await this.admit(context);
      const result = await work(record);
      this.logCall(context, record, started, undefined);
      return result;
    } catch (thrown) {
      const error = isDomainError(thrown) ? thrown : internalError(thrown);
      if (throttled && error.code === "unauthenticated") {
        this.options.throttle.recordFailure(context.peer, started);
      }
      this.logCall(context, record, started, error);
      throw error;
    }
  }

  private async admit(context: CallContext): Promise<Caller | undefined> {
    const requirement = CALL_POLICY[context.rpc];
    if (requirement === "public") return undefined;

    const caller = await this.options.verifier.verify(bearerToken(context.authorization));
    authorize(requirement, caller, this.options.orchestrators);
    return caller;
  }

  private logCall(
    context: CallContext,
    record: CallRecord,
    started: number,
    error: DomainError | undefined,
  ): void {
    const level = error === undefined ? "info" : logLevelOf(error);
    const cause = error?.cause;

    this.options.logger.log(level, "call", {
      rpc: context.rpc,
      protocol: context.protocol,
      peer: context.peer,
      caller: record.caller?.subject,
      caller_role: record.caller?.role,
      items: record.items,
      provider_ids: record.providerIds.length > 0 ? record.providerIds : undefined,
      outcome: error === undefined ? "ok" : error.code,
      reason: error?.reason,
      security_event: error?.securityEvent === true ? true : undefined,
      duration_ms: this.options.clock.now() - started,
      // Only faults of our own carry a cause worth logging; token libraries'
      // messages never include the token itself.
      error: cause instanceof Error ? `${cause.name}: ${cause.message}` : undefined,
    });
  }
}

function bearerToken(header: string | undefined): string {
  const match = header === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(header);
  if (match === null) {
    throw new DomainError(
      "unauthenticated",
      "this call needs a service token: send the header authorization: Bearer <token>",
      { reason: header === undefined ? "no_bearer_token" : "malformed_authorization_header" },
    );
  }
  return match[1]!;
}

function tooManyFailures(): DomainError {
  return new DomainError(
    "resource_exhausted",
    "too many failed authentications from this address; wait a minute before trying again",
    { reason: "auth_failures_throttled" },
  );
}

function logLevelOf(error: DomainError): "warn" | "error" {
  if (error.securityEvent || error.code === "internal" || error.code === "unavailable") {
    return "error";
  }
  return "warn";
}
