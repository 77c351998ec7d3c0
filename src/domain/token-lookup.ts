import type { ProviderRecord } from "../store/provider-store.js";
import { isWellFormedSecretToken } from "../secrets/secret-token.js";
import { DomainError } from "./errors.js";

/** BAD_CLAIM_TOKEN ends the one message every bad claim token gets. */
export const BAD_CLAIM_TOKEN =
  "is not a valid claim token: it is unknown, expired, or its retry window has passed";

/** BAD_REFRESH_TOKEN ends the one message every bad refresh token gets. */
export const BAD_REFRESH_TOKEN =
  "is not a valid refresh token: claim or renew the provider to get a new one";

/**
 * checkSecretShape refuses a token that this service cannot have issued,
 * before any hashing or store call, with the same answer as an unknown one.
 */
export function checkSecretShape(token: string, field: string, kind: "claim" | "refresh"): void {
  if (isWellFormedSecretToken(token)) return;

  const message = kind === "claim" ? BAD_CLAIM_TOKEN : BAD_REFRESH_TOKEN;
  throw new DomainError("unauthenticated", `${field} ${message}`, {
    reason: `malformed_${kind}_token`,
  });
}

/** indexBy maps each record's token hash to the record, skipping records without one. */
export function indexBy(
  records: readonly ProviderRecord[],
  hashOf: (r: ProviderRecord) => string | null,
): Map<string, ProviderRecord> {
  const byHash = new Map<string, ProviderRecord>();
  for (const record of records) {
    const hash = hashOf(record);
    if (hash !== null) byHash.set(hash, record);
  }
  return byHash;
}

/** firstMatch finds the record of a token from its candidate hashes, one per master key. */
export function firstMatch(
  byHash: ReadonlyMap<string, ProviderRecord>,
  hashes: readonly string[],
): ProviderRecord | undefined {
  for (const hash of hashes) {
    const record = byHash.get(hash);
    if (record !== undefined) return record;
  }
  return undefined;
}
