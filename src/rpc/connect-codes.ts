import { Code, ConnectError } from "@connectrpc/connect";

import type { DomainError, DomainErrorCode } from "../domain/errors.js";

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
  internal: Code.Internal,
};

/** toConnectError turns a DomainError into what goes on the wire; causes stay behind. */
export function toConnectError(error: DomainError): ConnectError {
  return new ConnectError(error.message, DOMAIN_TO_CONNECT[error.code]);
}
