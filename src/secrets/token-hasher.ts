import { createHmac, hkdfSync } from "node:crypto";

import type { MasterKeyRing } from "./master-key-ring.js";

// The hashing key is derived, never the master key itself, so that a leak of
// one derived key reveals nothing of the sealing key (RFC 5869, distinct info).
const TOKEN_HASH_LABEL = "provider-auth token hash v1";

/**
 * TokenHasher turns claim and refresh tokens into the keyed hashes the store
 * keeps (HMAC-SHA-256). Without the master key a stolen database cannot be
 * used to test guessed tokens offline.
 */
export class TokenHasher {
  private readonly hashKeys: readonly Buffer[];

  constructor(ring: MasterKeyRing) {
    this.hashKeys = ring.keys.map((k) =>
      Buffer.from(hkdfSync("sha256", k.key, Buffer.alloc(0), TOKEN_HASH_LABEL, 32)),
    );
  }

  /** hash is the stored form of a new token, under the current master key. */
  hash(token: string): string {
    return hmac(this.hashKeys[0]!, token);
  }

  /** candidates are the forms a stored token may have, one per ring entry, current first. */
  candidates(token: string): string[] {
    return this.hashKeys.map((key) => hmac(key, token));
  }
}

function hmac(key: Buffer, token: string): string {
  return createHmac("sha256", key).update(token).digest("base64url");
}
