import { DomainError } from "./errors.js";

/** UCloud's own bound on the items of one bulk request. */
export const MAX_BULK_ITEMS = 1000;

/**
 * checkBulkSize rejects an empty or oversized bulk request. It runs first in
 * every call, before any hashing, key generation or signing.
 */
export function checkBulkSize(items: readonly unknown[]): void {
  if (items.length === 0) {
    throw new DomainError("invalid_argument", "the request has no items: send 1 to 1000", {
      reason: "empty_bulk",
    });
  }
  if (items.length > MAX_BULK_ITEMS) {
    throw new DomainError(
      "invalid_argument",
      `the request has ${items.length} items: send at most ${MAX_BULK_ITEMS} per call`,
      { reason: "bulk_too_large" },
    );
  }
}

/**
 * rejectRepeats refuses a bulk request that names one thing twice. A call
 * that changes state applies each item once, so a repeat is a caller bug we
 * report rather than guess at. `describe` must not reveal secrets.
 */
export function rejectRepeats(values: readonly string[], field: string): void {
  const firstIndex = new Map<string, number>();
  values.forEach((value, index) => {
    const earlier = firstIndex.get(value);
    if (earlier !== undefined) {
      throw new DomainError(
        "invalid_argument",
        `items[${index}].${field} repeats items[${earlier}].${field}: name each once per request`,
        { reason: "repeated_item" },
      );
    }
    firstIndex.set(value, index);
  });
}
