import type { SealedPrivateKey } from "../secrets/private-key-sealer.js";

/**
 * ProviderRecord is one provider's whole state, kept in one document so that
 * every change is a single-document compare-and-set: no store here needs
 * multi-document transactions.
 */
export interface ProviderRecord {
  id: string;
  /** Bumped by every change; compare-and-set filters on it. */
  version: number;
  /** Bumped by every new key pair; bound into the sealed key. */
  keyVersion: number;
  /** base64 SPKI DER of the current key. */
  publicKey: string;
  sealedPrivateKey: SealedPrivateKey;
  /** Keyed hash of the live claim token, or null once retired. */
  claimTokenHash: string | null;
  /** Epoch ms after which the claim token is dead (unclaimed expiry or end of retry window). */
  claimValidUntil: number;
  /** Epoch ms of the first successful claim, or null. */
  claimedAt: number | null;
  /** Keyed hash of the live refresh token, or null before the first claim. */
  refreshTokenHash: string | null;
  /** Hashes of the last few retired refresh tokens, so a replay can be told from a guess. */
  retiredRefreshTokenHashes: string[];
  createdAt: number;
  updatedAt: number;
}

/**
 * ProviderStore is the port every store implements. Lookups take several
 * keyed hashes because a token may have been hashed under an older master key.
 * Implementations throw DomainError: `already_exists` for a taken id,
 * `unavailable` when the backing server cannot be reached.
 */
export interface ProviderStore {
  /** A short name for logs: "memory" or "mongodb". */
  readonly kind: string;

  /** insertAll adds new records, all or nothing: on any taken id none of them remains. */
  insertAll(records: readonly ProviderRecord[]): Promise<void>;

  findByIds(ids: readonly string[]): Promise<ProviderRecord[]>;

  /** findByClaimTokenHashes returns records whose claim token is live at `nowMs`. */
  findByClaimTokenHashes(hashes: readonly string[], nowMs: number): Promise<ProviderRecord[]>;

  findByRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]>;

  findByRetiredRefreshTokenHashes(hashes: readonly string[]): Promise<ProviderRecord[]>;

  /**
   * compareAndSet replaces the record with `next` only if its stored version is
   * still `expectedVersion`, in one atomic step. It tells whether it did.
   */
  compareAndSet(expectedVersion: number, next: ProviderRecord): Promise<boolean>;

  /** listAll returns every record, for maintenance commands and tests. */
  listAll(): Promise<ProviderRecord[]>;

  /** ping resolves when the store can serve, and throws `unavailable` otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;
}
