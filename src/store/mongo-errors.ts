import {
  MongoBulkWriteError,
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  type WriteError,
} from "mongodb";

import { DomainError, internalError } from "../domain/errors.js";

const DUPLICATE_KEY = 11000;

// Server answers that mean "this member cannot serve now, another soon will":
// shutting down, stepped down, not primary, or a network fault between members.
const UNREACHABLE_SERVER_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  // The primary applied the write but a majority did not confirm it in time.
  64, // WriteConcernTimeout
]);

// Node's own socket failures. The driver usually wraps these in a
// MongoNetworkError, but a write to a socket the server has just closed can
// surface as the bare Node error (EPIPE), so they are recognised here too.
const SOCKET_ERROR_CODES = new Set([
  "EPIPE",
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CLOSED",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
]);

// Labels the driver puts on failures to reach or keep a connection.
const UNREACHABLE_LABELS = [
  MongoErrorLabel.SystemOverloadedError,
  MongoErrorLabel.ResetPool,
  MongoErrorLabel.RetryableWriteError,
  MongoErrorLabel.PoolRequestedRetry,
];

/**
 * isUnreachable tells whether a driver error means the server could not be
 * reached in time, as opposed to the server refusing the request. Pool
 * cleared and network timeout errors are network errors by class.
 */
export function isUnreachable(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoOperationTimeoutError
  ) {
    return true;
  }
  if (error instanceof Error && error.name === "MongoWaitQueueTimeoutError") return true;
  if (!(error instanceof MongoError)) {
    return error instanceof Error && "code" in error && SOCKET_ERROR_CODES.has(String(error.code));
  }

  if (UNREACHABLE_LABELS.some((label) => error.hasErrorLabel(label))) return true;
  if (error instanceof MongoBulkWriteError) {
    if (writeErrorsOf(error).length > 0) return false;
    // A bulk write that fails below the server comes back as a bulk error
    // holding a copy of the original error's fields but not its class: a
    // network error's `beforeHandshake`, a server selection error's `reason`.
    if ("beforeHandshake" in error || "reason" in error) return true;
  }
  return error instanceof MongoServerError && UNREACHABLE_SERVER_CODES.has(Number(error.code));
}

/** storeUnavailable is the one error every unreachable-server failure becomes. */
export function storeUnavailable(cause: unknown): DomainError {
  const name = cause instanceof Error ? cause.name : "unknown";
  return new DomainError("unavailable", "the provider store is unreachable; retry shortly", {
    reason: `store_unreachable:${name}`,
    cause,
  });
}

/**
 * toStoreError turns anything a driver call threw into a DomainError:
 * `unavailable` when the server cannot be reached, `internal` otherwise.
 */
export function toStoreError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  if (isUnreachable(error)) return storeUnavailable(error);

  const name = error instanceof Error ? error.name : "unknown";
  return internalError(error, `store_failure:${name}`);
}

/**
 * duplicateKey tells whether an insert failed on a taken `_id`, and if the
 * driver says so, at which position of the batch. The driver reports it as a
 * bulk error with one write error or a list of them, or as a plain server
 * error, depending on the call and the server.
 */
export function duplicateKey(error: unknown): { found: boolean; index: number | undefined } {
  if (error instanceof MongoBulkWriteError) {
    const duplicate = writeErrorsOf(error).find((e) => e.code === DUPLICATE_KEY);
    if (duplicate !== undefined) return { found: true, index: duplicate.index };
  }
  if (error instanceof MongoServerError && Number(error.code) === DUPLICATE_KEY) {
    return { found: true, index: undefined };
  }
  return { found: false, index: undefined };
}

function writeErrorsOf(error: MongoBulkWriteError): readonly WriteError[] {
  const errors: WriteError | readonly WriteError[] | undefined = error.writeErrors;
  if (errors === undefined) return [];
  return Array.isArray(errors) ? errors : [errors as WriteError];
}
