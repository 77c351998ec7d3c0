import type { AccessTokenSigner } from "../jwt/access-tokens.js";
import type { KeyPairSource } from "../keys/key-pair-pool.js";
import type { RsaKeyPair } from "../keys/rsa-key-pair.js";
import type { PrivateKeySealer } from "../secrets/private-key-sealer.js";
import type { RandomSource } from "../secrets/random.js";
import { newSecretToken } from "../secrets/secret-token.js";
import type { TokenHasher } from "../secrets/token-hasher.js";
import type { ProviderRecord, ProviderStore } from "../store/provider-store.js";
import { applyChanges } from "./apply-changes.js";
import { checkBulkSize, rejectRepeats } from "./bulk.js";
import type { Clock } from "./clock.js";
import { DomainError, providerExists } from "./errors.js";
import { checkProviderId } from "./provider-id.js";
import type { SigningKeys } from "./signing-keys.js";
import {
  BAD_CLAIM_TOKEN,
  BAD_REFRESH_TOKEN,
  checkSecretShape,
  firstMatch,
  indexBy,
} from "./token-lookup.js";

/** ProviderCredentials is what claim and renew hand to a provider. */
export interface ProviderCredentials {
  providerId: string;
  publicKey: string;
  refreshToken: string;
}

/** IssuedToken is a signed access token and the provider whose key signed it. */
export interface IssuedToken {
  providerId: string;
  accessToken: string;
}

/** GeneratedKeyPair is a key pair in UCloud's base64 DER encodings. */
export interface GeneratedKeyPair {
  publicKey: string;
  privateKey: string;
}

export interface ProviderAuthPolicy {
  /** How long after its first use a claim token may be retried. */
  claimRetryWindowMs: number;
  /** How long an unused claim token stays valid. */
  claimTokenTtlMs: number;
}

export interface ProviderAuthDependencies {
  store: ProviderStore;
  clock: Clock;
  random: RandomSource;
  hasher: TokenHasher;
  sealer: PrivateKeySealer;
  keyPairs: KeyPairSource;
  signingKeys: SigningKeys;
  signer: AccessTokenSigner;
  policy: ProviderAuthPolicy;
}

// Enough to recognise a replayed refresh token for a few renewals back.
const RETIRED_HASHES_KEPT = 5;

/**
 * ProviderAuth is the token domain: UCloud's auth.providers calls, free of
 * any transport. Every call checks its whole request before any expensive
 * work, and changes the store all or nothing. Calls that write take an
 * optional signal and check it just before writing: work for a caller who
 * has given up is dropped rather than committed behind its back.
 */
export class ProviderAuth {
  constructor(private readonly deps: ProviderAuthDependencies) {}

  /** register creates providers with fresh key pairs and returns their claim tokens. */
  async register(ids: readonly string[], signal?: AbortSignal): Promise<string[]> {
    checkBulkSize(ids);
    ids.forEach((id, i) => checkProviderId(id, `items[${i}].id`));
    rejectRepeats(ids, "id");

    const existing = await this.deps.store.findByIds(ids);
    if (existing.length > 0) throw providerExists(existing[0]!.id);

    const keyPairs = await this.deps.keyPairs.take(ids.length);
    const now = this.deps.clock.now();
    const claimTokens = ids.map(() => newSecretToken(this.deps.random));

    const records = ids.map((id, i): ProviderRecord => ({
      id,
      version: 1,
      keyVersion: 1,
      ...this.keyFields(id, 1, keyPairs[i]!),
      claimTokenHash: this.deps.hasher.hash(claimTokens[i]!),
      claimValidUntil: now + this.deps.policy.claimTokenTtlMs,
      claimedAt: null,
      refreshTokenHash: null,
      retiredRefreshTokenHashes: [],
      createdAt: now,
      updatedAt: now,
    }));
    signal?.throwIfAborted();
    await this.deps.store.insertAll(records);

    return claimTokens;
  }

  /**
   * claim trades claim tokens for credentials. The first use starts a short
   * retry window in which the same token may be used again (a provider that
   * lost the answer can retry); each use issues a new refresh token and
   * retires the one before. After the window the token is dead.
   */
  async claim(
    claimTokens: readonly string[],
    signal?: AbortSignal,
  ): Promise<ProviderCredentials[]> {
    checkBulkSize(claimTokens);
    claimTokens.forEach((token, i) => checkSecretShape(token, `items[${i}].claimToken`, "claim"));
    rejectRepeats(claimTokens, "claimToken");

    const now = this.deps.clock.now();
    const candidates = claimTokens.map((t) => this.deps.hasher.candidates(t));
    const found = await this.deps.store.findByClaimTokenHashes(candidates.flat(), now);

    const byHash = indexBy(found, (r) => r.claimTokenHash);
    const records = candidates.map((hashes, i) => {
      const record = firstMatch(byHash, hashes);
      if (record === undefined) {
        throw new DomainError("unauthenticated", `items[${i}].claimToken ${BAD_CLAIM_TOKEN}`, {
          reason: "unknown_or_expired_claim_token",
        });
      }
      return record;
    });

    const refreshTokens = records.map(() => newSecretToken(this.deps.random));
    const changes = records.map((before, i) => {
      const firstUse = before.claimedAt === null;
      return {
        before,
        after: {
          ...this.withNewRefreshToken(before, refreshTokens[i]!, now),
          claimedAt: firstUse ? now : before.claimedAt,
          claimValidUntil: firstUse
            ? now + this.deps.policy.claimRetryWindowMs
            : before.claimValidUntil,
        },
      };
    });
    signal?.throwIfAborted();
    await applyChanges(this.deps.store, changes);

    return records.map((r, i) => ({
      providerId: r.id,
      publicKey: r.publicKey,
      refreshToken: refreshTokens[i]!,
    }));
  }

  /**
   * renew gives providers a new key pair and refresh token, retiring the old
   * refresh token and any claim token still outstanding.
   */
  async renew(ids: readonly string[], signal?: AbortSignal): Promise<ProviderCredentials[]> {
    checkBulkSize(ids);
    ids.forEach((id, i) => checkProviderId(id, `items[${i}].id`));
    rejectRepeats(ids, "id");

    const records = await this.findAll(ids);
    const keyPairs = await this.deps.keyPairs.take(ids.length);
    const now = this.deps.clock.now();
    const refreshTokens = records.map(() => newSecretToken(this.deps.random));

    const changes = records.map((before, i) => {
      const keyVersion = before.keyVersion + 1;
      return {
        before,
        after: {
          ...this.withNewRefreshToken(before, refreshTokens[i]!, now),
          keyVersion,
          ...this.keyFields(before.id, keyVersion, keyPairs[i]!),
          claimTokenHash: null,
          claimValidUntil: 0,
        },
      };
    });
    signal?.throwIfAborted();
    await applyChanges(this.deps.store, changes);

    return changes.map(({ after }, i) => ({
      providerId: after.id,
      publicKey: after.publicKey,
      refreshToken: refreshTokens[i]!,
    }));
  }

  /** refresh signs a provider access token for each refresh token. */
  async refresh(refreshTokens: readonly string[]): Promise<IssuedToken[]> {
    checkBulkSize(refreshTokens);
    refreshTokens.forEach((token, i) =>
      checkSecretShape(token, `items[${i}].refreshToken`, "refresh"),
    );
    // A repeat would cost one more signature for nothing: refused like any
    // other repeat, so one token cannot buy a thousand signatures a call.
    rejectRepeats(refreshTokens, "refreshToken");

    const candidates = refreshTokens.map((t) => this.deps.hasher.candidates(t));
    const found = await this.deps.store.findByRefreshTokenHashes(candidates.flat());

    const byHash = indexBy(found, (r) => r.refreshTokenHash);
    const records: ProviderRecord[] = [];
    for (const [i, hashes] of candidates.entries()) {
      records.push(firstMatch(byHash, hashes) ?? (await this.refreshTokenRejection(hashes, i)));
    }

    const now = this.deps.clock.now();
    return Promise.all(
      records.map(async (record) => {
        const key = await this.deps.signingKeys.forRecord(record);
        const accessToken = await this.deps.signer.signProviderToken(key, record.id, now);
        return { providerId: record.id, accessToken };
      }),
    );
  }

  /** refreshAsOrchestrator signs, with each provider's key, a token proving a call is UCloud's. */
  async refreshAsOrchestrator(ids: readonly string[]): Promise<IssuedToken[]> {
    checkBulkSize(ids);
    ids.forEach((id, i) => checkProviderId(id, `items[${i}].providerId`));
    rejectRepeats(ids, "providerId");

    const records = await this.findAll(ids);
    const now = this.deps.clock.now();
    return Promise.all(
      records.map(async (record) => {
        const key = await this.deps.signingKeys.forRecord(record);
        const accessToken = await this.deps.signer.signOrchestratorToken(key, now);
        return { providerId: record.id, accessToken };
      }),
    );
  }

  /** retrievePublicKey returns a provider's current public key. */
  async retrievePublicKey(id: string): Promise<string> {
    checkProviderId(id, "id");
    const [record] = await this.findAll([id]);
    return record!.publicKey;
  }

  /** generateKeyPair returns a fresh key pair that this service forgets at once. */
  async generateKeyPair(): Promise<GeneratedKeyPair> {
    const [pair] = await this.deps.keyPairs.take(1);
    return { publicKey: pair!.publicKey, privateKey: pair!.privateKeyPkcs8.toString("base64") };
  }

  /** findAll returns the records of `ids` in order, or throws NOT_FOUND for the first unknown. */
  private async findAll(ids: readonly string[]): Promise<ProviderRecord[]> {
    const found = await this.deps.store.findByIds(ids);
    const byId = new Map(found.map((r) => [r.id, r]));

    return ids.map((id) => {
      const record = byId.get(id);
      if (record === undefined) {
        throw new DomainError("not_found", `provider "${id}" is not registered`, {
          reason: "unknown_provider",
        });
      }
      return record;
    });
  }

  private keyFields(id: string, keyVersion: number, pair: RsaKeyPair) {
    const sealedPrivateKey = this.deps.sealer.seal(id, keyVersion, pair.privateKeyPkcs8);
    pair.privateKeyPkcs8.fill(0);
    return { publicKey: pair.publicKey, sealedPrivateKey };
  }

  private withNewRefreshToken(before: ProviderRecord, token: string, now: number): ProviderRecord {
    const retired =
      before.refreshTokenHash === null
        ? before.retiredRefreshTokenHashes
        : [before.refreshTokenHash, ...before.retiredRefreshTokenHashes];

    return {
      ...before,
      version: before.version + 1,
      refreshTokenHash: this.deps.hasher.hash(token),
      retiredRefreshTokenHashes: retired.slice(0, RETIRED_HASHES_KEPT),
      updatedAt: now,
    };
  }

  // The caller gets one answer for every bad refresh token; only the log
  // learns whether it was a replay of a retired one, which is worth an alert.
  private async refreshTokenRejection(hashes: string[], index: number): Promise<never> {
    const retired = await this.deps.store.findByRetiredRefreshTokenHashes(hashes);
    const replay = retired.length > 0;

    throw new DomainError("unauthenticated", `items[${index}].refreshToken ${BAD_REFRESH_TOKEN}`, {
      reason: replay ? `retired_refresh_token:${retired[0]!.id}` : "unknown_refresh_token",
      securityEvent: replay,
    });
  }
}
