import { ProviderAuth } from "../../src/domain/provider-auth.js";
import { SigningKeys } from "../../src/domain/signing-keys.js";
import { AccessTokenSigner } from "../../src/jwt/access-tokens.js";
import { KeyPairPool } from "../../src/keys/key-pair-pool.js";
import { MasterKeyRing } from "../../src/secrets/master-key-ring.js";
import { PrivateKeySealer } from "../../src/secrets/private-key-sealer.js";
import { cryptoRandom } from "../../src/secrets/random.js";
import { TokenHasher } from "../../src/secrets/token-hasher.js";
import { MemoryStore } from "../../src/store/memory-store.js";
import type { ProviderStore } from "../../src/store/provider-store.js";

/** SteppedClock is a clock that moves only when a test says so. */
export class SteppedClock {
  constructor(private nowMs = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.nowMs;
  }

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** DomainFixture is a ProviderAuth over a real store, with its clock and sealer at hand. */
export interface DomainFixture {
  domain: ProviderAuth;
  store: ProviderStore;
  clock: SteppedClock;
  sealer: PrivateKeySealer;
  ring: MasterKeyRing;
}

export const RETRY_WINDOW_MS = 5 * 60_000;
export const CLAIM_TTL_MS = 7 * 86_400_000;

/** domainFixture builds the domain with real crypto, a stepped clock and a fresh store. */
export function domainFixture(
  options: { store?: ProviderStore; ring?: MasterKeyRing } = {},
): DomainFixture {
  const clock = new SteppedClock();
  const store = options.store ?? new MemoryStore();
  const ring = options.ring ?? MasterKeyRing.generate(cryptoRandom);
  const sealer = new PrivateKeySealer(ring, cryptoRandom);

  const domain = new ProviderAuth({
    store,
    clock,
    random: cryptoRandom,
    hasher: new TokenHasher(ring),
    sealer,
    keyPairs: new KeyPairPool({ size: 0, concurrency: 1 }),
    signingKeys: new SigningKeys(sealer),
    signer: new AccessTokenSigner({ issuer: "cloud.sdu.dk", lifetimeSeconds: 600 }),
    policy: { claimRetryWindowMs: RETRY_WINDOW_MS, claimTokenTtlMs: CLAIM_TTL_MS },
  });
  return { domain, store, clock, sealer, ring };
}
