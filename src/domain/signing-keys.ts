import { importSigningKey, type SigningKey } from "../jwt/access-tokens.js";
import { SealBrokenError, type PrivateKeySealer } from "../secrets/private-key-sealer.js";
import type { ProviderRecord } from "../store/provider-store.js";
import { DomainError } from "./errors.js";

/**
 * How many imported keys SigningKeys keeps by default: about 60 MiB once
 * used. A key that is not cached costs an import and OpenSSL's first-use
 * setup, together about one more signature's worth of CPU.
 */
export const SIGNING_KEY_CACHE_ENTRIES = 10_000;

/**
 * SigningKeys opens and imports a provider's private key once and keeps it
 * for later signatures. Entries are keyed by provider id and the record's
 * published public key, and an entry is only made after checking that the
 * private key matches that public key. So a renewed key is used from the
 * first call that reads the new record, on every instance, with no
 * invalidation message; and a key from a change that was later undone can
 * never be picked for a record that publishes another key.
 */
export class SigningKeys {
  private readonly cache = new Map<string, Promise<SigningKey>>();

  constructor(
    private readonly sealer: PrivateKeySealer,
    private readonly maxEntries = SIGNING_KEY_CACHE_ENTRIES,
  ) {}

  /** forRecord returns the key that signs for this record's provider. */
  forRecord(record: ProviderRecord): Promise<SigningKey> {
    const cacheKey = `${record.id}\n${record.publicKey}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return cached;

    const loading = this.load(record);
    this.remember(cacheKey, loading);
    loading.catch(() => this.cache.delete(cacheKey));
    return loading;
  }

  private async load(record: ProviderRecord): Promise<SigningKey> {
    let pkcs8: Buffer;
    try {
      pkcs8 = this.sealer.open(record.id, record.keyVersion, record.sealedPrivateKey);
    } catch (error) {
      if (!(error instanceof SealBrokenError)) throw error;
      throw brokenKey(record, "sealed_key_broken", error);
    }

    const key = await importSigningKey(pkcs8);
    pkcs8.fill(0);

    // The key must match the public key providers were given; signing with
    // anything else would issue tokens no provider can verify, or worse.
    if (key.publicKey !== record.publicKey) {
      throw brokenKey(record, "key_pair_mismatch", new Error("public key mismatch"));
    }
    return key;
  }

  // Insertion order doubles as age: dropping the oldest entry bounds memory
  // without bookkeeping on the hot path.
  private remember(cacheKey: string, key: Promise<SigningKey>): void {
    if (this.cache.size >= this.maxEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(cacheKey, key);
  }
}

function brokenKey(record: ProviderRecord, reason: string, cause: unknown): DomainError {
  return new DomainError("internal", "internal error", {
    reason: `${reason}:${record.id}`,
    securityEvent: true,
    cause,
  });
}
