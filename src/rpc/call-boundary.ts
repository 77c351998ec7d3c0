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
  /**
   * Aborts when the answer is no longer wanted (the client's deadline passed,
   * or the client left); its reason should be a DomainError saying which.
   */
  signal?: AbortSignal;
}

/** CallRecord collects what the log line of a call says beyond its outcome. */
export interface CallRecord {
  caller: Caller | undefined;
  items: number | undefined;
  providerIds: string[];
  /**
   * Aborts once nobody waits for the answer. Calls that change the store hand
   * it to the domain, which checks it just before writing, so a call that was
   * answered DEADLINE_EXCEEDED or CANCELLED does not change anything later.
   */
  signal: AbortSignal;
}

/** CallBoundaryOptions are what the boundary checks callers against, and where it logs. */
export interface CallBoundaryOptions {
  verifier: CallerTokenVerifier;
  orchestrators: ReadonlySet<string>;
  logger: Logger;
  clock: Clock;
  throttle: FailureThrottle;
  /**
   * The longest any call may take, deadline or not: a caller that sends no
   * deadline must not keep the server working on its behalf for ever.
   */
  maxCallMs: number;
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
    const stop = this.stopSignal(context.signal);
    const record: CallRecord = {
      caller: undefined,
      items: undefined,
      providerIds: [],
      signal: stop.signal,
    };

    const throttled = THROTTLED_RPCS.has(context.rpc);
    try {
      if (throttled && this.options.throttle.isBlocked(context.peer, started)) {
        throw tooManyFailures();
      }
      const result = await untilAborted(stop.signal, async () => {
        record.caller = await this.admit(context);
        // Admission may have waited on key lookups; start no work for a
        // caller who has given up in the meantime.
        stop.signal.throwIfAborted();
        return work(record);
      });
      this.logCall(context, record, started, undefined);
      return result;
    } catch (thrown) {
      const error = isDomainError(thrown) ? thrown : internalError(thrown);
      if (throttled && error.code === "unauthenticated") {
        this.options.throttle.recordFailure(context.peer, started);
      }
      this.logCall(context, record, started, error);
      throw error;
    } finally {
      stop.dispose();
    }
  }

  private stopSignal(callerSignal: AbortSignal | undefined): {
    signal: AbortSignal;
    dispose: () => void;
  } {
    const controller = new AbortController();
    const limitMs = this.options.maxCallMs;
    const timer = setTimeout(() => {
      controller.abort(
        new DomainError(
          "deadline_exceeded",
          `the call took longer than the ${limitMs} ms allowed`,
          {
            reason: "server_call_limit",
          },
        ),
      );
    }, limitMs);
    timer.unref();

    const forward = () => controller.abort(asDomainError(callerSignal?.reason));
    if (callerSignal?.aborted === true) forward();
    else callerSignal?.addEventListener("abort", forward, { once: true });

    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer);
        callerSignal?.removeEventListener("abort", forward);
      },
    };
  }

  /**
   * logRefused writes the log line of a call the transport refused before
   * the boundary saw it, such as a message that does not decode.
   */
  logRefused(refused: { rpc: string; protocol: string; peer: string; reason: string }): void {
    this.options.logger.log("warn", "call", {
      rpc: refused.rpc,
      protocol: refused.protocol,
      peer: refused.peer,
      outcome: "invalid_argument",
      reason: refused.reason,
    });
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

/**
 * untilAborted settles with `work` or, if `signal` aborts first, with the
 * abort reason. Work already started runs on, but its outcome is dropped.
 */
function untilAborted<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as unknown);
    signal.addEventListener("abort", onAbort, { once: true });
    work()
      .then(resolve, reject)
      .finally(() => signal.removeEventListener("abort", onAbort));
  });
}

function asDomainError(reason: unknown): DomainError {
  if (isDomainError(reason)) return reason;
  return new DomainError("cancelled", "the client cancelled the call", {
    reason: "client_cancelled",
  });
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
