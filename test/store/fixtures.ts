import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";

import { AccessTokenSigner } from "../../src/jwt/access-tokens.js";
import { KeyPairPool } from "../../src/keys/key-pair-pool.js";
import { isDomainError } from "../../src/domain/errors.js";
import { ProviderAuth } from "../../src/domain/provider-auth.js";
import { SigningKeys } from "../../src/domain/signing-keys.js";
import type { Clock } from "../../src/domain/clock.js";
import { MasterKeyRing } from "../../src/secrets/master-key-ring.js";
import { PrivateKeySealer } from "../../src/secrets/private-key-sealer.js";
import { cryptoRandom } from "../../src/secrets/random.js";
import { TokenHasher } from "../../src/secrets/token-hasher.js";
import type { ProviderRecord, ProviderStore } from "../../src/store/provider-store.js";

/** SteppedClock is a clock that moves only when a test advances it. */
export class SteppedClock implements Clock {
  constructor(private ms = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.ms;
  }

  /** advance moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** StoreHandle is a fresh, empty store and the way to throw it away after a test. */
export interface StoreHandle {
  store: ProviderStore;
  dispose(): Promise<void>;
}

/** OpenStore makes a fresh, empty store; each test gets its own. */
export type OpenStore = () => Promise<StoreHandle>;

function randomText(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * sampleRecord is a registered, unclaimed provider with random stand-ins for
 * its key material and token hashes, so no two samples share any value.
 */
export function sampleRecord(id: string, overrides: Partial<ProviderRecord> = {}): ProviderRecord {
  const now = Date.UTC(2030, 0, 1);
  return {
    id,
    version: 1,
    keyVersion: 1,
    publicKey: randomBytes(32).toString("base64"),
    sealedPrivateKey: {
      masterKeyId: "test",
      iv: randomText(12),
      ciphertext: randomText(64),
      tag: randomText(16),
    },
    claimTokenHash: randomText(32),
    claimValidUntil: now + 60_000,
    claimedAt: null,
    refreshTokenHash: null,
    retiredRefreshTokenHashes: [],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

/** nextVersionOf is `record` changed in every field a real change may touch. */
export function nextVersionOf(record: ProviderRecord): ProviderRecord {
  return {
    ...sampleRecord(record.id),
    version: record.version + 1,
    keyVersion: record.keyVersion + 1,
    claimTokenHash: null,
    claimValidUntil: 0,
    claimedAt: record.createdAt + 1,
    refreshTokenHash: randomText(32),
    retiredRefreshTokenHashes: [randomText(32), ...record.retiredRefreshTokenHashes],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt + 1,
  };
}

/**
 * warmUp runs 20 reads at once, so that a store with a connection pool has
 * 20 connections open when a race starts. On a cold pool the racers wait for
 * connections one or two at a time and barely overlap, which hides races.
 */
export async function warmUp(store: ProviderStore): Promise<void> {
  await Promise.all(Array.from({ length: 20 }, () => store.findByIds(["warm-up"])));
}

/** Domain is a ProviderAuth over a given store, with the pieces tests inspect. */
export interface Domain {
  auth: ProviderAuth;
  sealer: PrivateKeySealer;
  clock: SteppedClock;
  close(): void;
}

/** CLAIM_RETRY_WINDOW_MS is how long a used claim token may be retried in these tests. */
export const CLAIM_RETRY_WINDOW_MS = 60_000;

/**
 * buildDomain wires the real token domain to `store`: a fresh master key,
 * real sealing, hashing and signing, and key pairs generated on demand.
 */
export function buildDomain(store: ProviderStore): Domain {
  const ring = MasterKeyRing.generate(cryptoRandom);
  const sealer = new PrivateKeySealer(ring, cryptoRandom);
  const clock = new SteppedClock();
  const keyPairs = new KeyPairPool({ size: 0, concurrency: 1 });

  const auth = new ProviderAuth({
    store,
    clock,
    random: cryptoRandom,
    hasher: new TokenHasher(ring),
    sealer,
    keyPairs,
    signingKeys: new SigningKeys(sealer),
    signer: new AccessTokenSigner({ issuer: "provider-auth-test", lifetimeSeconds: 600 }),
    policy: { claimRetryWindowMs: CLAIM_RETRY_WINDOW_MS, claimTokenTtlMs: 3_600_000 },
  });
  return { auth, sealer, clock, close: () => keyPairs.close() };
}

/** openPrivateKey is a record's PKCS#8 private key, opened with the domain's sealer. */
export function openPrivateKey(domain: Domain, record: ProviderRecord): Buffer {
  return domain.sealer.open(record.id, record.keyVersion, record.sealedPrivateKey);
}

/** publicKeyOfSealed is the base64 SPKI of the public half of a record's sealed private key. */
export function publicKeyOfSealed(domain: Domain, record: ProviderRecord): string {
  const privateKey = createPrivateKey({
    key: openPrivateKey(domain, record),
    format: "der",
    type: "pkcs8",
  });
  return createPublicKey(privateKey).export({ type: "spki", format: "der" }).toString("base64");
}

/** errorCode is the DomainError code of a rejection, or a description of what else it was. */
export function errorCode(reason: unknown): string {
  if (isDomainError(reason)) return reason.code;
  return `not a DomainError: ${String(reason)}`;
}
