/**
 * The closed set of errors the service answers with. Every layer below the
 * RPC boundary throws `DomainError`; the boundary maps `code` to a wire code
 * in one place and logs `reason` and `cause`, which never reach the caller.
 */
export type DomainErrorCode =
  | "invalid_argument"
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "already_exists"
  | "conflict"
  | "resource_exhausted"
  | "unavailable"
  // The caller's deadline (or the server's cap on call time) passed first.
  | "deadline_exceeded"
  // The caller went away before the answer was ready.
  | "cancelled"
  | "internal";

export interface DomainErrorDetails {
  /** A stable snake_case word for the log, e.g. `retired_refresh_token`. */
  reason?: string;
  /** Marks a failure that an operator should look at, e.g. a replayed secret. */
  securityEvent?: boolean;
  /** The underlying fault, kept for the log only. */
  cause?: unknown;
}

/** DomainError is a failure with a stable code and a message a caller can act on. */
export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly reason: string | undefined;
  readonly securityEvent: boolean;

  constructor(code: DomainErrorCode, message: string, details: DomainErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "DomainError";
    this.code = code;
    this.reason = details.reason;
    this.securityEvent = details.securityEvent ?? false;
  }
}

/** isDomainError is the one way this codebase tells a DomainError apart. */
export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** internalError wraps an unexpected fault; its message is never sent. */
export function internalError(cause: unknown, reason = "unexpected"): DomainError {
  return new DomainError("internal", "internal error", { cause, reason });
}

/** providerExists is the error every store and the domain give for a taken provider id. */
export function providerExists(id: string): DomainError {
  return new DomainError("already_exists", `provider "${id}" is already registered`, {
    reason: "provider_exists",
  });
}
