import { Code, ConnectError } from "@connectrpc/connect";

import { DomainError, type DomainErrorCode } from "../domain/errors.js";

/** DOMAIN_TO_CONNECT is the one mapping of domain errors onto wire codes. */
const DOMAIN_TO_CONNECT: Readonly<Record<DomainErrorCode, Code>> = {
  invalid_argument: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  already_exists: Code.AlreadyExists,
  // A lost compare-and-set: nothing changed and the same call may be retried.
  conflict: Code.Aborted,
  resource_exhausted: Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  deadline_exceeded: Code.DeadlineExceeded,
  cancelled: Code.Canceled,
  internal: Code.Internal,
};

/** toConnectError turns a DomainError into what goes on the wire; causes stay behind. */
export function toConnectError(error: DomainError): ConnectError {
  return new ConnectError(error.message, DOMAIN_TO_CONNECT[error.code]);
}

/**
 * domainAbortSignal follows a Connect handler's signal, which aborts on the
 * client's deadline or when the client goes away, and gives the boundary a
 * DomainError as the reason, so the boundary never needs to know Connect.
 * `remainingMs` tells how much of the client's deadline is left, if it set
 * one. A client whose deadline passes cancels its stream a little before the
 * server's own timer fires (its clock started before the request arrived),
 * and which of the two the server sees first is chance; so a cancel that
 * comes that close to the deadline counts as the deadline.
 */
export function domainAbortSignal(
  signal: AbortSignal,
  remainingMs: () => number | undefined = () => undefined,
): AbortSignal {
  const controller = new AbortController();
  const forward = () => {
    const deadline = ConnectError.from(signal.reason).code === Code.DeadlineExceeded;
    controller.abort(callAbortReason(deadline, remainingMs()));
  };
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return controller.signal;
}

// More than a request's trip to the server and into a handler, even on a busy machine.
const DEADLINE_SLACK_MS = 50;

/**
 * callAbortReason is the DomainError for a call nobody waits for any more:
 * its deadline passed (or the client cancelled within DEADLINE_SLACK_MS of
 * it, see domainAbortSignal), or the client cancelled it.
 */
export function callAbortReason(
  deadlinePassed: boolean,
  remainingMs: number | undefined,
): DomainError {
  const overdue = remainingMs !== undefined && remainingMs <= DEADLINE_SLACK_MS;
  if (deadlinePassed || overdue) {
    return new DomainError("deadline_exceeded", "the call's deadline passed before it finished", {
      reason: "client_deadline",
    });
  }
  return new DomainError("cancelled", "the client cancelled the call", {
    reason: "client_cancelled",
  });
}

/** codeName spells a wire code as the log writes it, e.g. "resource_exhausted". */
export function codeName(code: Code): string {
  const name = Code[code] as string | undefined;
  return name === undefined ? "unknown" : name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}
