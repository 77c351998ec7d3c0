import { generateRsaKeyPair, type RsaKeyPair } from "../../src/keys/rsa-key-pair.js";
import type { PrivateKeySealer } from "../../src/secrets/private-key-sealer.js";
import type { RandomSource } from "../../src/secrets/random.js";
import { newSecretToken } from "../../src/secrets/secret-token.js";
import type { TokenHasher } from "../../src/secrets/token-hasher.js";
import type { ProviderRecord, ProviderStore } from "../../src/store/provider-store.js";

/** SeedDependencies are the service's own secrets, so seeded records open and match. */
export interface SeedDependencies {
  store: ProviderStore;
  sealer: PrivateKeySealer;
  hasher: TokenHasher;
  random: RandomSource;
}

// Registering 100 000 providers through the API would mean 100 000 RSA-2048
// key generations, about 0.15 s of CPU each: hours on this machine. The scale
// rows measure the store and the signing-key cache, not key generation, so
// seeded providers share a few pre-generated key pairs. Each record still
// seals its key under its own id (the seal binds id and key version), so
// every provider is opened, imported and cached on its own, as in production.
const SHARED_KEY_PAIRS = 8;
// Insert in slices so the server keeps answering its IPC channel while seeding.
const INSERT_SLICE = 1000;

/**
 * ProviderSeeder writes claimed providers straight into a store, as records
 * whose claim token has lapsed, and hands back their live refresh tokens.
 */
export class ProviderSeeder {
  private keyPairs: Promise<RsaKeyPair[]> | undefined;
  private seeded = 0;

  constructor(private readonly deps: SeedDependencies) {}

  /** count is how many providers this seeder has written. */
  get count(): number {
    return this.seeded;
  }

  /** seed adds `count` providers and returns their ids and refresh tokens. */
  async seed(count: number, nowMs: number): Promise<{ ids: string[]; refreshTokens: string[] }> {
    const pairs = await this.sharedKeyPairs();
    const ids: string[] = [];
    const refreshTokens: string[] = [];

    for (let start = 0; start < count; start += INSERT_SLICE) {
      const records: ProviderRecord[] = [];
      for (let i = start; i < Math.min(count, start + INSERT_SLICE); i++) {
        const id = `seed-${String(this.seeded + i).padStart(7, "0")}`;
        const token = newSecretToken(this.deps.random);
        records.push(this.record(id, pairs[i % pairs.length]!, token, nowMs));
        ids.push(id);
        refreshTokens.push(token);
      }
      await this.deps.store.insertAll(records);
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.seeded += count;
    return { ids, refreshTokens };
  }

  private sharedKeyPairs(): Promise<RsaKeyPair[]> {
    this.keyPairs ??= Promise.all(
      Array.from({ length: SHARED_KEY_PAIRS }, () => generateRsaKeyPair()),
    );
    return this.keyPairs;
  }

  private record(id: string, pair: RsaKeyPair, refreshToken: string, now: number): ProviderRecord {
    return {
      id,
      version: 2,
      keyVersion: 1,
      publicKey: pair.publicKey,
      // The shared pair's buffer is sealed again for every provider, so it
      // must not be wiped here the way ProviderAuth wipes a one-use pair.
      sealedPrivateKey: this.deps.sealer.seal(id, 1, pair.privateKeyPkcs8),
      claimTokenHash: null,
      claimValidUntil: 0,
      claimedAt: now,
      refreshTokenHash: this.deps.hasher.hash(refreshToken),
      retiredRefreshTokenHashes: [],
      createdAt: now,
      updatedAt: now,
    };
  }
}
